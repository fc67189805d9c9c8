use batpak::prelude::*;
use batpak::store::ReadOnly;

fn main() -> Result<(), StoreError> {
    let store: Store<ReadOnly> = Store::open_read_only(StoreConfig::new("./data"))?;
    let coordinate = Coordinate::new("account:1", "bank")?;
    const DEPOSITED: EventKind = EventKind::custom(0x1, 1);
    store.append(&coordinate, DEPOSITED, &serde_json::json!({ "cents": 5 }))?;
    Ok(())
}
