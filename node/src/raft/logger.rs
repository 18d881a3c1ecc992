//! raft-rs logs through `slog`; this drain hands its records to `tracing`, so one
//! subscriber (and one `RUST_LOG`) controls every log line of the node.

use std::fmt::{self, Write as _};

use slog::{Drain, KV, Level, OwnedKVList, Record, Serializer, o};

/// A logger for a raft-rs instance (raft-rs adds the node's `raft_id` itself).
pub fn tracing_logger() -> slog::Logger {
    slog::Logger::root(TracingDrain, o!())
}

struct TracingDrain;

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let enabled = match record.level() {
            Level::Critical | Level::Error => tracing::enabled!(tracing::Level::ERROR),
            Level::Warning => tracing::enabled!(tracing::Level::WARN),
            Level::Info => tracing::enabled!(tracing::Level::INFO),
            Level::Debug => tracing::enabled!(tracing::Level::DEBUG),
            Level::Trace => tracing::enabled!(tracing::Level::TRACE),
        };
        if !enabled {
            return Ok(());
        }
        let mut fields = FieldText(String::new());
        let _ = record.kv().serialize(record, &mut fields);
        let _ = values.serialize(record, &mut fields);
        let message = record.msg();
        let fields = fields.0;
        match record.level() {
            Level::Critical | Level::Error => {
                tracing::error!(target: "raft", "{message}{fields}")
            }
            Level::Warning => tracing::warn!(target: "raft", "{message}{fields}"),
            // raft-rs logs every election and role change at info: routine for us.
            Level::Info => tracing::debug!(target: "raft", "{message}{fields}"),
            Level::Debug | Level::Trace => tracing::trace!(target: "raft", "{message}{fields}"),
        }
        Ok(())
    }
}

struct FieldText(String);

impl Serializer for FieldText {
    fn emit_arguments(&mut self, key: slog::Key, value: &fmt::Arguments<'_>) -> slog::Result {
        let _ = write!(self.0, " {key}={value}");
        Ok(())
    }
}
