//! Factory entries of product quantization (see the parent module).

#[allow(unused_imports)]
use super::Entry;

pub(super) const ENTRIES: &[Entry] = &[];
