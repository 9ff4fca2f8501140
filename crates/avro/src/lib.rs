//! cityops-avro
