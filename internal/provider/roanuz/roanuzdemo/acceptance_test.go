package roanuzdemo

import (
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
)

// TestAcceptanceWebhook runs the connectortest acceptance suite on
// roanuz.webhook against the simulator's pusher, on the real broker and
// registry (see WebhookAcceptance).
func TestAcceptanceWebhook(t *testing.T) {
	connectortest.Run(t, WebhookAcceptanceDriver())
}

// TestAcceptanceMatch runs the connectortest acceptance suite on
// roanuz.match against the simulator's Socket.IO stream and REST API, on
// the real broker and registry (see MatchAcceptance).
func TestAcceptanceMatch(t *testing.T) {
	connectortest.Run(t, MatchAcceptanceDriver())
}
