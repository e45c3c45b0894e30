package main

import (
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
)

// plugins is every connector class this binary runs. A provider package
// adds one line here.
func plugins() *connector.Plugins {
	return connector.NewPlugins(
		synthetic.Plugin(),
		saba.Plugin(),
		imgarena.Plugin(),
		roanuz.WebhookPlugin(),
		roanuz.MatchPlugin(),
	)
}
