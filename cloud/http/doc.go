// Package http serves the cloud's API: members' recommendations and
// families' summaries to their families, aggregate analytics to analysts,
// flight-status webhooks from providers, and health and metrics to the
// platform. Errors are internal/httpx's JSON shape, the hub's too,
// {"code":"…","message":"…"}, with a message that says what to fix; a
// refused body adds "problems", each with a code, the JSON path of the
// field at fault and the rule.
//
// # Routes
//
//	GET  /healthz                                               anyone; always 200
//	GET  /readyz                                                anyone; 503 until the backend is ready
//	GET  /metrics                                               anyone; Prometheus text format
//	GET  /v1/openapi.json                                       anyone; the API's OpenAPI document (openapi.json)
//	GET  /v1/families/{family}/members/{member}/recommendation  guardian of {family}; member {member} of {family}; admin
//	GET  /v1/families/{family}/summary                          guardian of {family}; admin
//	GET  /v1/families/{family}/export                           guardian of {family}; admin
//	GET  /v1/analytics                                          analyst; admin
//	POST /v1/webhooks/flight-status                             webhook secret; Zoner's own form
//	POST /v1/webhooks/flightaware                               webhook secret; FlightAware AeroAPI alerts
//
// # Tokens
//
// The /v1 reads need "Authorization: Bearer <token>": a JWT signed with
// HS256 (no other alg is accepted) whose claims are iss "zoner-cloud",
// sub, role (guardian, member, analyst or admin), iat, exp and, for
// guardians and members only, fam, the family id. A member's sub is the
// member id. exp, iat and the optional nbf are JSON numbers (a string is
// refused); exp has no grace, iat and nbf may be a few seconds ahead of
// this clock, and exp is at most MaxTokenLifetime (24 h) after iat.
// IssueToken makes such tokens and ParseToken checks them. A
// missing, malformed, forged or expired token is answered 401 with a
// WWW-Authenticate: Bearer challenge; a valid token asking for what its
// role does not cover is answered 403, the same whether or not the
// family asked for exists.
//
// # Flight-status webhooks
//
// Both webhooks need the shared webhook secret, in the
// X-Zoner-Webhook-Secret header or, for providers whose alert target is
// only a URL, the secret query parameter. Both answer 200 with what the
// status did, {"events":[…],"trips":n}. A message delivered again answers
// the same events, which the stores keep once; the same message id with
// other news (a corrected time, a new status) makes new events, which
// the families' plans apply after the earlier ones.
//
// POST /v1/webhooks/flight-status takes one JSON object, at most 64 KiB,
// decoded strictly (an unknown field is an error):
//
//	{
//	  "id":             "provider-message-id",       // required; with the news, makes the event ids
//	  "flight":         "BA286",                     // required; IATA flight number, spaces and case ignored
//	  "date":           "2026-12-20",                // required; scheduled departure date at the origin
//	  "status":         "delayed",                   // required; delayed, departed, cancelled, diverted or landed
//	  "depart":         "2026-12-20T18:05:00-08:00", // new expected or actual departure, RFC 3339
//	  "arrive":         "2026-12-21T12:55:00Z",      // new expected or actual arrival, RFC 3339
//	  "diverted_to":    "LGW",                       // diverted only: IATA code of the airport it went to
//	  "diverted_to_tz": "Europe/London"              // diverted only, required: IANA zone of that airport
//	}
//
// A delayed flight needs depart, arrive or both; departed needs depart;
// landed needs arrive; cancelled takes neither; arrive must come after
// depart, within 24 hours.
//
// POST /v1/webhooks/flightaware takes FlightAware AeroAPI alert callbacks
// as FlightAware sends them and maps them to the same status: departure,
// out and off alerts to departed; arrival, on and in to landed;
// cancelled to cancelled; diverted to diverted; change, minutes_out and
// any other alert to delayed when an estimate moved 5 minutes or more
// from the schedule. Alerts that change nothing (a filed flight plan, a
// flight without an IATA number, times that did not move) are answered
// 202 with {"ignored":true,"reason":"…"}. FLIGHT_STATUS.md has the
// details and why FlightAware.
//
// # Limits
//
// Each token (its subject and family) gets a token bucket of requests;
// each client address gets one for the webhooks and for requests refused
// with 401. An empty bucket is answered 429 with Retry-After, the whole
// seconds until it has a token again. Each limit holds at most 100,000
// buckets; past that, new keys share one.
package http
