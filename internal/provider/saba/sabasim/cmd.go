package sabasim

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/simcmd"
)

const simUsage = `Usage: sportsconnect simulate saba [flags]

Runs a local Saba OddsDirect server: POST /login, POST /refreshToken and the
Server-Sent Events streams GET /sports/stream/{version}/GetEvents and
GetMarkets, over a deterministic event/odds timeline, with fault injection.

Examples:
  sportsconnect simulate saba --addr 127.0.0.1:8090
  sportsconnect simulate saba --rate 200 --token-ttl 30s --refresh broken
  sportsconnect simulate saba --cut-every 10s --stall-every 45s --stall-for 25s --malformed-every 500
  sportsconnect simulate saba --duplicate-every 50 --replay-inclusive
  curl -s -XPOST localhost:8090/login -d '{"vendor_id":"v","vendor_member_id":"m"}'
  curl -N -H "Authorization: Bearer $TOKEN" 'localhost:8090/sports/stream/v1/GetEvents?query=$filter=sporttype%20eq%201'

Flags:
`

// RunSimulator runs the simulator for 'sportsconnect simulate saba' until
// ctx ends.
func RunSimulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := simcmd.Flags("saba", simUsage, stderr)
	var (
		addr        = fs.String("addr", "127.0.0.1:8090", "listen address")
		seed        = fs.Uint64("seed", 1, "timeline seed (same seed, same timeline)")
		events      = fs.Int("events", 20, "events in the initial state")
		markets     = fs.Int("markets-per-event", 4, "markets per event")
		pad         = fs.Int("pad", 0, "bytes of undocumented filler per market (large snapshots)")
		rate        = fs.Float64("rate", 20, "updates per second")
		maxUpdates  = fs.Int64("max-updates", 0, "stop after this many updates (0: never)")
		ttl         = fs.Duration("token-ttl", 30*time.Minute, "token lifetime")
		keepAlive   = fs.Duration("keepalive", 5*time.Second, "keep-alive interval")
		cache       = fs.Int64("cache", 1000, "updates kept for Last-Event-Id replay; older ids get status 3 Reset")
		malformed   = fs.Int64("malformed-every", 0, "send every n-th update as broken JSON (0: never)")
		duplicate   = fs.Int64("duplicate-every", 0, "fault: send the frame of every n-th update twice (0: never)")
		inclusive   = fs.Bool("replay-inclusive", false, "fault: a replay after Last-Event-Id starts with the message of that id again")
		refresh     = fs.String("refresh", RefreshBearer, "refreshToken behaviour: bearer or broken")
		vendor      = fs.String("vendor-id", "", "accept only this vendor_id (empty: any)")
		member      = fs.String("member-id", "", "accept only this vendor_member_id (empty: any)")
		endOnExpiry = fs.Bool("end-on-token-expiry", false, "end a stream when its token expires")
		cutEvery    = fs.Duration("cut-every", 0, "fault: cut every open stream mid-event this often")
		stallEvery  = fs.Duration("stall-every", 0, "fault: stall every stream this often")
		stallFor    = fs.Duration("stall-for", 30*time.Second, "fault: how long a stall lasts")
		expireEvery = fs.Duration("expire-every", 0, "fault: revoke every token this often")
		maintEvery  = fs.Duration("maintenance-every", 0, "fault: answer the next 3 connects with status 99 this often")
	)
	if help, err := simcmd.Parse(fs, args); help || err != nil {
		return err
	}
	if *refresh != RefreshBearer && *refresh != RefreshBroken {
		return fmt.Errorf("--refresh %q: expected bearer or broken", *refresh)
	}
	sim := NewSimulator(WithSeed(*seed), WithEvents(*events, *markets), WithPadding(*pad), WithRate(*rate),
		WithMaxUpdates(*maxUpdates), WithTokenTTL(*ttl), WithKeepAlive(*keepAlive), WithCacheSize(*cache),
		WithMalformedEvery(*malformed), WithDuplicateEvery(*duplicate), WithInclusiveReplay(*inclusive), WithRefreshMode(*refresh), WithCredentials(*vendor, *member),
		WithStreamEndsOnTokenExpiry(*endOnExpiry))
	defer sim.Close()
	url, err := sim.Listen(ctx, *addr)
	if err != nil {
		return err
	}
	sim.Start()
	fmt.Fprintf(stdout, "saba simulator listening on %s (GET %s/sports/stream/v1/GetEvents)\n", url, url)
	simcmd.Every(ctx, *cutEvery, sim.CutStreams)
	simcmd.Every(ctx, *stallEvery, func() { sim.Stall(*stallFor) })
	simcmd.Every(ctx, *expireEvery, sim.ExpireTokens)
	simcmd.Every(ctx, *maintEvery, func() { sim.FailNext(StatusMaintenance, 3) })
	<-ctx.Done()
	return nil
}
