//! Tests of the receiver's actions (placeholder while the module is written).
