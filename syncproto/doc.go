// Package syncproto is Zoner's event contract: the envelope every event
// travels in, the payload of each event type, their strict validation, the
// canonical JSON encoding and the hybrid logical clock that orders events
// across hubs.
//
// Everything that happens in a family is an immutable event. Hubs, the
// browser UI, the bridge and the cloud all speak it, so its rules live here
// and nowhere else. The reference for client authors is docs/events.md;
// testdata/valid and testdata/invalid hold the golden vectors.
//
// # Decoding
//
// Unmarshal decodes and validates in one step and reports every problem it
// finds (up to a bound) as Errors, each naming the JSON path and the rule:
//
//	data.legs[0].arrive: must be after data.legs[0].depart
//
// Validation is strict: envelopes over MaxEnvelopeBytes, invalid UTF-8,
// duplicate keys, unknown fields and unknown types are rejected; strings
// and arrays are bounded; every instant lies from 2000-01-01 up to
// 2100-01-01; zone names must be in the IANA list embedded in this
// package. Validation never
// reads the clock or the host's zone database, so every hub accepts exactly
// the same events.
//
// # Versions
//
// The envelope's v is the schema version its writer used; this build reads
// and writes CurrentVersion. A schema version never changes once released:
// any change, a new type or a new field (even an optional one), makes a new
// version, because strict readers reject types and fields they do not know.
//
//   - v below 1 is invalid.
//   - v up to CurrentVersion is decoded and validated by that version's rules.
//   - v above CurrentVersion is rejected by Unmarshal with
//     CodeUnsupportedVersion, because this build cannot check or use it. It
//     is not lost: DecodeHeader accepts it, so relays (the hub's uplink, the
//     bridge) forward the original bytes untouched, and a receiver can keep
//     it in its log and apply it once upgraded.
//
// # Ordering
//
// Upserts and removals are last-writer-wins by HLC, ties broken by event id
// (see Clock). Facts (sleep, meal, light exposure) are never changed; a
// correction is a new fact that supersedes the old one, and an undo is a
// log.retracted event.
package syncproto
