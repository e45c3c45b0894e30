// Package cluster is a worker's membership in its worker group, through
// Kafka's group coordinator: JoinGroup, SyncGroup, Heartbeat and LeaveGroup,
// spoken with kmsg, protocol type "connect" as Kafka Connect's workers use.
// The coordinator decides who is in the group and which member leads; the
// leader computes every member's assignment (an Assignor the caller gives)
// and hands it out through SyncGroup. Nothing is elected or leased here:
// the generation the coordinator numbers is the only authority.
//
// Concurrency: Run owns the membership; Rejoin may be called from any
// goroutine. The callbacks run on Run's goroutine, one at a time, in order;
// heartbeats go on while they run, so a callback may take as long as the
// rebalance timeout (stopping revoked tasks, say) without losing the
// membership.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// ProtocolType is the group protocol type, Kafka Connect's. A group.id in
// use by consumers or by standalone workers (another type) is refused by
// the coordinator with INCONSISTENT_GROUP_PROTOCOL.
const ProtocolType = "connect"

// ProtocolName names this project's member metadata and assignment format
// (JSON, see Metadata and Assignment).
const ProtocolName = "sportsconnect-v1"

// Config configures a Member.
type Config struct {
	Group             string
	Kafka             []kgo.Opt
	SessionTimeout    time.Duration // default 10 s
	RebalanceTimeout  time.Duration // default 60 s
	HeartbeatInterval time.Duration // default 3 s
	Log               *zap.Logger

	// Metadata returns what this member says about itself when it joins
	// (its REST URL, what it runs now).
	Metadata func() []byte
	// Assign is called on the leader with every member's metadata and
	// returns each member's assignment, by member id.
	Assign func(ctx context.Context, leader string, members []Joined) (map[string][]byte, error)
	// Assigned is called after each completed rebalance with this member's
	// assignment.
	Assigned func(ctx context.Context, g Generation, assignment []byte)
	// Lost is called when the membership is lost (session expired, fenced
	// out by a newer generation): everything assigned must stop at once,
	// it may already run elsewhere.
	Lost func(ctx context.Context, why error)
}

// Joined is one member as the leader sees it.
type Joined struct {
	MemberID string
	Metadata []byte
}

// Generation is one completed rebalance as this member sees it.
type Generation struct {
	ID       int32
	MemberID string
	LeaderID string
	IsLeader bool
}

// Member is one worker's membership. Create it with New and run it with Run.
type Member struct {
	cfg Config
	cl  *kgo.Client
	log *zap.Logger

	rejoin chan struct{}
	// vanish makes Run return without leaving the group, as a SIGKILLed
	// process does (tests).
	vanish bool

	mu  sync.Mutex
	gen Generation // the last completed one; ID -1 before the first
}

// New returns a member of cfg.Group; it joins when Run is called.
func New(cfg Config) (*Member, error) {
	if cfg.Group == "" || cfg.Metadata == nil || cfg.Assign == nil || cfg.Assigned == nil || cfg.Lost == nil {
		return nil, errors.New("cluster: Group, Metadata, Assign, Assigned and Lost are required")
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.RebalanceTimeout <= 0 {
		cfg.RebalanceTimeout = 60 * time.Second
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	cl, err := kgo.NewClient(cfg.Kafka...)
	if err != nil {
		return nil, fmt.Errorf("cluster: creating client: %w", err)
	}
	return &Member{cfg: cfg, cl: cl, log: cfg.Log.With(zap.String("group.id", cfg.Group)),
		rejoin: make(chan struct{}, 1), gen: Generation{ID: -1}}, nil
}

// Generation returns the last completed generation (ID -1 before the first).
func (m *Member) Generation() Generation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

// Rejoin asks for a new rebalance: after this member revoked work, or when
// the leader saw the configuration change.
func (m *Member) Rejoin() {
	select {
	case m.rejoin <- struct{}{}:
	default:
	}
}

// Run joins the group and keeps the membership until ctx ends, then leaves
// the group (so the others rebalance at once instead of after the session
// timeout) and closes its client. It returns ctx's error, or an error the
// group cannot recover from (an inconsistent protocol, authorization).
func (m *Member) Run(ctx context.Context) error {
	defer m.cl.Close()
	memberID := ""
	for {
		g, assignment, err := m.join(ctx, memberID)
		if ctx.Err() != nil {
			m.leave(memberID)
			return ctx.Err()
		}
		if err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.FencedInstanceID) || errors.Is(err, kerr.IllegalGeneration) {
				// The coordinator dropped this member (a rebalance it did
				// not finish in time, say): its work may already be given
				// to others, so it is stopped before this worker joins
				// again as a new member. Rejoining with it still running
				// would have two workers run the same tasks.
				if m.Generation().ID >= 0 {
					m.log.Warn("dropped from the worker group while rejoining; stopping its work before joining anew", zap.Error(err))
					m.cfg.Lost(ctx, err)
					m.mu.Lock()
					m.gen = Generation{ID: -1}
					m.mu.Unlock()
				}
				memberID = ""
			}
			m.log.Warn("joining the worker group failed; retrying", zap.Error(err))
			if sleepCtx(ctx, time.Second) != nil {
				return ctx.Err()
			}
			continue
		}
		memberID = g.MemberID
		m.mu.Lock()
		m.gen = g
		m.mu.Unlock()
		m.log.Info("joined the worker group", zap.Int32("generation", g.ID), zap.String("member", g.MemberID),
			zap.String("leader", g.LeaderID), zap.Bool("leader_here", g.IsLeader))

		hbCtx, stopHB := context.WithCancel(ctx)
		hbDone := make(chan error, 1)
		go func() { hbDone <- m.heartbeat(hbCtx, g) }()
		m.cfg.Assigned(ctx, g, assignment)

		var hbErr error
		select {
		case <-ctx.Done():
		case <-m.rejoin:
		case hbErr = <-hbDone:
		}
		stopHB()
		if hbErr == nil {
			select {
			case hbErr = <-hbDone:
			case <-time.After(m.cfg.SessionTimeout):
			}
		}
		if ctx.Err() != nil {
			m.leave(memberID)
			return ctx.Err()
		}
		switch {
		case hbErr == nil, errors.Is(hbErr, context.Canceled), errors.Is(hbErr, kerr.RebalanceInProgress):
			// a rebalance: rejoin keeping the work until told otherwise
		default:
			// Out of the group: the coordinator may already have given
			// our work to others.
			m.log.Warn("lost the worker group membership", zap.Error(hbErr))
			m.cfg.Lost(ctx, hbErr)
			memberID = ""
		}
	}
}

// fatalError is an error no rejoin fixes.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// join runs one JoinGroup + SyncGroup round.
func (m *Member) join(ctx context.Context, memberID string) (Generation, []byte, error) {
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group = m.cfg.Group
		req.SessionTimeoutMillis = int32(m.cfg.SessionTimeout.Milliseconds())
		req.RebalanceTimeoutMillis = int32(m.cfg.RebalanceTimeout.Milliseconds())
		req.MemberID = memberID
		req.ProtocolType = ProtocolType
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name = ProtocolName
		proto.Metadata = m.cfg.Metadata()
		req.Protocols = []kmsg.JoinGroupRequestProtocol{proto}
		resp, err := req.RequestWith(ctx, m.cl)
		if err != nil {
			return Generation{}, nil, fmt.Errorf("join group: %w", err)
		}
		err = kerr.ErrorForCode(resp.ErrorCode)
		switch {
		case errors.Is(err, kerr.MemberIDRequired):
			memberID = resp.MemberID // KIP-394: join again with it
			continue
		case errors.Is(err, kerr.InconsistentGroupProtocol), errors.Is(err, kerr.GroupAuthorizationFailed),
			errors.Is(err, kerr.InvalidSessionTimeout):
			return Generation{}, nil, &fatalError{fmt.Errorf("join group %s: %w (is group.id %s used by consumers, by standalone workers or by another kind of worker?)", m.cfg.Group, err, m.cfg.Group)}
		case err != nil:
			return Generation{}, nil, fmt.Errorf("join group: %w", err)
		}
		g := Generation{ID: resp.Generation, MemberID: resp.MemberID, LeaderID: resp.LeaderID, IsLeader: resp.LeaderID == resp.MemberID}
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group = m.cfg.Group
		sync.Generation = g.ID
		sync.MemberID = g.MemberID
		sync.ProtocolType = kmsg.StringPtr(ProtocolType)
		sync.Protocol = kmsg.StringPtr(ProtocolName)
		if g.IsLeader && !resp.SkipAssignment {
			members := make([]Joined, len(resp.Members))
			for i, jm := range resp.Members {
				members[i] = Joined{MemberID: jm.MemberID, Metadata: jm.ProtocolMetadata}
			}
			plan, err := m.cfg.Assign(ctx, g.MemberID, members)
			if err != nil {
				return Generation{}, nil, fmt.Errorf("computing the assignment as leader: %w", err)
			}
			for id, a := range plan {
				ga := kmsg.NewSyncGroupRequestGroupAssignment()
				ga.MemberID, ga.MemberAssignment = id, a
				sync.GroupAssignment = append(sync.GroupAssignment, ga)
			}
		}
		sresp, err := sync.RequestWith(ctx, m.cl)
		if err != nil {
			return Generation{}, nil, fmt.Errorf("sync group: %w", err)
		}
		if err := kerr.ErrorForCode(sresp.ErrorCode); err != nil {
			if errors.Is(err, kerr.RebalanceInProgress) {
				continue // another member joined meanwhile
			}
			return Generation{}, nil, fmt.Errorf("sync group: %w", err)
		}
		return g, sresp.MemberAssignment, nil
	}
}

// heartbeat beats until ctx ends (nil) or the coordinator answers an error
// (a rebalance, or the membership is gone).
func (m *Member) heartbeat(ctx context.Context, g Generation) error {
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.Generation, req.MemberID = m.cfg.Group, g.ID, g.MemberID
		resp, err := req.RequestWith(ctx, m.cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		switch {
		case err == nil:
			failingSince = time.Time{}
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.UnknownMemberID),
			errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.FencedInstanceID):
			return err
		default:
			// The coordinator is unreachable: past the session timeout
			// the group has surely given our work away.
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) >= m.cfg.SessionTimeout {
				return fmt.Errorf("no heartbeat answered for %s: %w", m.cfg.SessionTimeout, err)
			}
		}
	}
}

// leave tells the coordinator this member is gone.
func (m *Member) leave(memberID string) {
	if memberID == "" || m.vanish {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = m.cfg.Group
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = memberID
	lm.Reason = kmsg.StringPtr("worker stopping")
	req.Members = []kmsg.LeaveGroupRequestMember{lm}
	req.MemberID = memberID
	if _, err := req.RequestWith(ctx, m.cl); err != nil {
		m.log.Warn("leaving the worker group", zap.Error(err))
		return
	}
	m.log.Info("left the worker group", zap.String("member", memberID))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
