package imgarena

import "errors"

// Sentinel errors; wrapped errors match them with errors.Is.
var (
	// ErrUnauthorized means the server refused the auth token (a 401-style
	// reply on the WebSocket, or 401/403 from the Fixtures REST API). The
	// fixture retries with backoff: the operator has to fix the token.
	ErrUnauthorized = errors.New("imgarena refused the auth token")

	// ErrServerError means the server sent an error packet on an
	// authorised connection.
	ErrServerError = errors.New("imgarena sent an error")

	// ErrSilence means no packet at all (not even a heartbeat) arrived
	// within imgarena.silence.timeout.ms: the connection is dead.
	ErrSilence = errors.New("imgarena connection silent")

	// ErrSequence means fixtureSeqNum skipped, repeated or went back inside
	// one connection.
	ErrSequence = errors.New("imgarena fixtureSeqNum out of order")

	// ErrMalformed means a packet is not the JSON the documents describe.
	ErrMalformed = errors.New("malformed imgarena packet")

	// ErrFixturesAPI means the Fixtures REST API call failed.
	ErrFixturesAPI = errors.New("imgarena fixtures API")

	// ErrFinished means the fixture's stream ended with finished: true.
	ErrFinished = errors.New("imgarena fixture finished")
)
