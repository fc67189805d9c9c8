use batpak::gate::Receipt;

fn main() {
    let _forged: Receipt<u64> = Receipt {
        payload: 500,
        bypass_event_id: None,
    };
}
