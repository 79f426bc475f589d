//! Provider keys: sealed at rest with the data key (`secret`) and tested against each
//! provider's API (`providers`). Nothing here logs or returns a key.

pub mod data_key;
pub mod providers;
pub mod secret;
