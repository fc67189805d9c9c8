//! Delivery of visible events to consumers: lossy push [`subscription`]s and
//! exactly-once pull [`cursor`]s with their worker threads.

pub mod cursor;
pub mod reactor;
pub mod subscription;
