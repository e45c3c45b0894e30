package imgarenademo

import (
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
)

// TestAcceptance runs the connectortest acceptance suite on the imgarena
// connector against its simulator (see Acceptance).
func TestAcceptance(t *testing.T) {
	connectortest.Run(t, AcceptanceDriver())
}
