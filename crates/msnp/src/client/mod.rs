//! The engine: drives [`crate::proto`] with real I/O on a background thread.
