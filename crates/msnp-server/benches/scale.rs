//! Scenario benchmark (filled in later).

fn main() {}
