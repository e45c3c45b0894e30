// Package live builds the normalized records every provider task writes
// beside its own, so a reader follows a match across providers in one
// shape:
//
//   - <prefix>.live.events (schemas/live_event.avsc): one Event per
//     provider record that says something about a match, keyed by the
//     normalized match id <provider>:<sport>:<id>, with its kind from a
//     small shared vocabulary (Kind*).
//   - <prefix>.live.matches (schemas/live_match.avsc, compacted): the
//     latest Match state per match id.
//
// A provider supplies a Mapper (provider record → Event); a Writer, owned
// by the task's Poll goroutine, appends the normalized records to each
// batch Poll returns. The runner writes a batch in one transaction, so the
// provider records, their normalized events, the match states and the
// source offsets are committed together or not at all.
//
// The match states survive restarts and moves between workers through the
// matches topic itself: it is a Restore topic (connector.TopicSpec), read
// back before the task starts, exactly as committed with the offsets the
// task resumes from.
package live
