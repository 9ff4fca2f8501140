//! The sink's tables: one typed [`BatchWriter`] each, behind one object-safe trait so the
//! loop can flush, retry and isolate them alike.

use cityops_store::{
    Batch, BatchWriter, ErrorClass, FlushReason, Flushed, InsertError, Origin, TableRow,
};
use futures::future::BoxFuture;
use serde::Serialize;
use tokio::time::Instant;

/// A row ClickHouse refused as bad data, ready to be dead-lettered.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub origin: Origin,
    /// The row as JSON (what was refused).
    pub row_json: Vec<u8>,
    /// The server's message.
    pub error: String,
}

/// What the sink loop needs of a table.
pub trait Table: Send {
    fn name(&self) -> &str;
    fn next_flush_at(&self) -> Option<Instant>;
    /// A record that produced no row here still counts as handled, in order.
    fn mark_handled(&mut self, origin: (&str, i32, i64));
    /// Flushes if a limit or the period is reached.
    fn tick(&mut self) -> BoxFuture<'_, Result<Option<Flushed>, InsertError>>;
    /// Inserts the failed batch (a retry), else the buffer.
    fn flush(&mut self) -> BoxFuture<'_, Result<Option<Flushed>, InsertError>>;
    /// Takes the failed batch out and inserts what of it ClickHouse accepts, halving until
    /// the bad rows are alone. Returns the refused rows and what the whole failed batch
    /// covers (safe once the refused rows are dead-lettered). `Err` when the failure turns
    /// out not to be bad data after all (the batch is back in the writer).
    fn isolate_bad(
        &mut self,
    ) -> BoxFuture<'_, Result<(Vec<RejectedRow>, cityops_store::CoveredOffsets), InsertError>>;
}

impl<T> Table for BatchWriter<T>
where
    T: TableRow + Serialize + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.table()
    }

    fn next_flush_at(&self) -> Option<Instant> {
        BatchWriter::next_flush_at(self)
    }

    fn mark_handled(&mut self, origin: (&str, i32, i64)) {
        BatchWriter::mark_handled(self, origin);
    }

    fn tick(&mut self) -> BoxFuture<'_, Result<Option<Flushed>, InsertError>> {
        Box::pin(BatchWriter::tick(self))
    }

    fn flush(&mut self) -> BoxFuture<'_, Result<Option<Flushed>, InsertError>> {
        Box::pin(BatchWriter::flush(self))
    }

    fn isolate_bad(
        &mut self,
    ) -> BoxFuture<'_, Result<(Vec<RejectedRow>, cityops_store::CoveredOffsets), InsertError>> {
        Box::pin(async move {
            let Some(batch) = self.take_failed() else {
                return Ok((Vec::new(), cityops_store::CoveredOffsets::default()));
            };
            let covered = batch.covered();
            let mut rejected = Vec::new();
            let mut stack = vec![batch];
            while let Some(mut part) = stack.pop() {
                match self.insert_batch(&part, FlushReason::Retry).await {
                    Ok(_) => {}
                    Err(e) if e.class != ErrorClass::BadData => {
                        // Not the rows' fault after all: give everything back for a retry.
                        for rest in stack.drain(..) {
                            merge(&mut part, rest);
                        }
                        self.restore_failed(part);
                        return Err(e);
                    }
                    Err(e) if part.len() <= 1 => {
                        for (row, origin) in part.into_rows() {
                            rejected.push(RejectedRow {
                                origin,
                                row_json: serde_json::to_vec(&row).unwrap_or_default(),
                                error: e.source.to_string(),
                            });
                        }
                    }
                    Err(_) => {
                        let upper = part.split_off(part.len() / 2);
                        stack.push(upper);
                        stack.push(part);
                    }
                }
            }
            Ok((rejected, covered))
        })
    }
}

fn merge<T>(into: &mut Batch<T>, other: Batch<T>) {
    for origin in other.handled().to_vec() {
        into.mark_handled(origin);
    }
    for (row, origin) in other.into_rows() {
        into.push(row, origin, 0);
    }
}
