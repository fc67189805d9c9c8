//! Today's event types must still read everything `schemas/` recorded. To
//! record a change: `BATPAK_BLESS=1 cargo test` (a change that breaks old data
//! needs `BATPAK_BLESS=allow-break`, for data that was never written).

use downstream::{Cart, Stock};

#[test]
fn snapshots_still_read() {
    batpak::schema::assert_snapshots!("schemas", Cart, Stock);
}
