//! What a service sees with the `tracing` and `metrics` features on: a
//! `tracing` subscriber printing the store's events (open, group commits,
//! rotation, compaction, snapshots) and a small metrics recorder of our own
//! that keeps every counter, gauge and histogram the store reports and
//! prints them at the end.
//!
//! Run it with `cargo run --example observability --features tracing,metrics`.

use batpak::prelude::*;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Every value reported, by metric name: counters and gauges keep the last
/// value, histograms every sample.
#[derive(Debug, Default)]
struct Values {
    counters: BTreeMap<String, u64>,
    gauges: BTreeMap<String, f64>,
    histograms: BTreeMap<String, Vec<f64>>,
}

/// One metric's handle: its name and the shared table.
struct Handle(String, Arc<Mutex<Values>>);

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self
            .1
            .lock()
            .unwrap()
            .counters
            .entry(self.0.clone())
            .or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.1
            .lock()
            .unwrap()
            .counters
            .insert(self.0.clone(), value);
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        *self
            .1
            .lock()
            .unwrap()
            .gauges
            .entry(self.0.clone())
            .or_default() += value;
    }
    fn decrement(&self, value: f64) {
        *self
            .1
            .lock()
            .unwrap()
            .gauges
            .entry(self.0.clone())
            .or_default() -= value;
    }
    fn set(&self, value: f64) {
        self.1.lock().unwrap().gauges.insert(self.0.clone(), value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        let mut v = self.1.lock().unwrap();
        v.histograms.entry(self.0.clone()).or_default().push(value);
    }
}

/// A recorder that keeps everything in [`Values`].
#[derive(Clone, Default)]
struct Keeper(Arc<Mutex<Values>>);

impl Keeper {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        Arc::new(Handle(key.name().to_owned(), Arc::clone(&self.0)))
    }
}

impl Recorder for Keeper {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_target(true)
        .init();
    let keeper = Keeper::default();
    metrics::set_global_recorder(keeper.clone()).map_err(|e| e.to_string())?;

    let dir = std::env::temp_dir().join(format!("batpak-observability-{}", std::process::id()));
    let config = StoreConfig::new(&dir)
        .with_segment_max_bytes(4096)
        .with_enable_mmap_index(true);
    let store = Store::open(config.clone())?;
    let kind = EventKind::custom(0x1, 1);
    for i in 0..80u32 {
        let c = Coordinate::new(format!("meter:{}", i % 4), "plant")?;
        store.append(&c, kind, &serde_json::json!({ "reading": i }))?;
    }
    let mut cursor = store.cursor_guaranteed(&Region::all());
    cursor.poll(10);
    store.compact()?;
    store.close()?;
    drop(Store::open(config)?);
    std::fs::remove_dir_all(&dir)?;

    let values = keeper.0.lock().unwrap();
    println!("\nmetrics reported:");
    for (name, v) in &values.counters {
        println!("  counter   {name} = {v}");
    }
    for (name, v) in &values.gauges {
        println!("  gauge     {name} = {v}");
    }
    for (name, samples) in &values.histograms {
        let max = samples.iter().copied().fold(0.0, f64::max);
        println!(
            "  histogram {name}: {} samples, max {max:.6}",
            samples.len()
        );
    }
    Ok(())
}
