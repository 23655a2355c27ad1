//! Work that reads or writes Partner Center on behalf of a user or in the background.

pub mod delivery;
pub mod refresh;
