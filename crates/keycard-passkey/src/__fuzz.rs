//! The checks behind the fuzz targets (feature `fuzzing`; not a supported API).

pub use keycard::__fuzz::replay;
