// Package connector is the contract between sportsconnect and a provider:
// what a provider author implements and reads, in the shape of Kafka
// Connect's source connector API. The runtime that runs it (workers,
// transactions, the offsets store, the REST API) lives elsewhere and is
// not needed to write a provider.
//
// # Lifecycle
//
// A Plugin names a connector class ("imgarena", "saba", ...), its
// ConfigSpec, and how to make a Connector. For each configured instance the
// runtime calls, in order:
//
//  1. Connector.Start with the validated config (CommonSpec merged with the
//     plugin's spec, defaults applied, secrets resolved);
//  2. Connector.Topics: the topics it writes and their Avro schemas, which
//     the runtime creates and registers before any task runs;
//  3. Connector.TaskConfigs(tasks.max): the work split into task configs
//     (fixtures, streams, matches);
//  4. for each task config, NewTask, then SourceTask.Start with a
//     TaskContext holding the task's committed offsets, then Poll in a loop
//     until the task is stopped, then SourceTask.Stop.
//
// Poll returns records and may block until its context's deadline; it must
// return when the context ends. The runtime bounds each Poll (100 ms by
// default) so that transaction boundaries and shutdown are on time. A task's
// own goroutines (its network connection) hand records to Poll through a
// bounded queue: a slow broker then slows the provider connection instead
// of growing memory. Records derived from others of the batch can be built
// as the worker writes them (SourceRecord.Then), so a large batch does not
// hold them all at once.
//
// # Records and offsets
//
// Every SourceRecord carries its source Partition (which stream of the
// provider it comes from, e.g. {"fixture":"123"}) and the source Offset
// reached with it (e.g. {"position":5123}): where to resume from if this
// record is the last one written. The Offset is what TaskContext.Offset
// returns for the partition at the next Start. A record may carry only an
// offset (no Value), to move the position past something that produced no
// record; and OnCommit, called once its transaction committed (or failed),
// which is how a webhook answers 2xx only for what is durable.
//
// # Exactly once
//
// The runtime writes a task's records and the newest offset of each
// partition they advance in one Kafka transaction. After any failure the
// task is stopped and started again from the offsets in Kafka, so a task
// never has to remember anything itself: if Start resumes the provider
// exactly at the given offsets, nothing is lost or written twice. A
// provider whose protocol cannot resume exactly says in its package doc
// what it does instead (and the offset holds whatever it needs to drop
// repeats).
//
// State that outgrows an offset (a running score per match, over a stream
// that is one partition) goes to a compacted topic marked Restore in
// TopicSpec: written in the same transactions as the records, and read
// back by the runtime before the task starts (TaskContext.Restored), so
// it is exactly the state that goes with the offsets the task resumes
// from. internal/live keeps the normalized match states this way.
//
// # Bad input and errors
//
// A message that cannot be decoded becomes a record with a DeadLetter
// (the raw bytes and the error): the runtime writes it to the dead-letter
// topic or fails the task, as errors.tolerance says. Errors from Start or
// Poll restart the task from its committed offsets with backoff; wrap an
// error with Permanent when no restart can fix it (a refused API key).
//
// # Metrics
//
// TaskContext.Metrics receives what only the provider knows (reconnects,
// sequence gaps, event-to-commit lag); it is never nil.
package connector
