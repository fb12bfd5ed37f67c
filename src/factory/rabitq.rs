//! Factory entries of this family (see the parent module).

#[allow(unused_imports)]
use super::Entry;

pub(super) const ENTRIES: &[Entry] = &[];
