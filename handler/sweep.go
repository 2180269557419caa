package handler

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sgwatch/sgwatch/awsid"
	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/sweep"
)

// runSweep answers a sweep request.
func (h *Handler) runSweep(ctx context.Context, req sweep.Request, stale time.Duration) error {
	if !h.cfg.Sweep.Enabled || h.d.Sweep == nil || h.cfg.LocalOnly {
		h.log.Error("a sweep request, but this function does not sweep", "sweepId", req.ID, "localOnly", h.cfg.LocalOnly)
		return &DecodeError{errors.New("a sweep request, but SWEEP is not true (or the function runs under sam local, which makes no AWS call)")}
	}
	regions := h.cfg.Sweep.Regions
	if len(regions) == 0 {
		regions = []string{h.cfg.Region}
	}
	targets, prior := h.targets(ctx, regions)
	if h.fansOut() {
		return h.plan(ctx, req, targets, prior)
	}
	return h.sweepTargets(ctx, req, stale, targets, prior)
}

// targets are the sweep's targets in regions: the function's own account
// and the others it sweeps (SWEEP_ACCOUNTS, or every account of the
// organization), each with the role to assume there. The error says why
// the organization's accounts could not be listed; the others are
// returned all the same.
func (h *Handler) targets(ctx context.Context, regions []string) ([]sweep.Target, error) {
	self, partition := functionAccount(ctx, h.cfg.TopicARN)
	others := h.cfg.Sweep.Accounts
	var prior error
	if h.cfg.Sweep.Organization {
		ids, err := h.d.Sweep.Accounts(ctx)
		if err != nil {
			// Sweep what is known all the same, and fail, so that it is retried.
			h.log.Error("cannot list the organization's accounts; sweeping the others", "error", err)
			prior = err
		}
		others = append(slices.Clip(others), ids...)
	}
	role := func(account string) string {
		if account == self {
			return ""
		}
		return awsid.RoleARN(partition, account, h.cfg.Sweep.Role)
	}
	return sweep.Targets(append([]string{self}, others...), regions, role), prior
}

func (h *Handler) sweepTargets(ctx context.Context, req sweep.Request, stale time.Duration, targets []sweep.Target, prior error) error {
	s := sweep.Sweeper{Scoring: h.cfg.Policy.Score, Targets: targets, Lister: h.d.Sweep.Lister,
		Memory: h.d.Sweep.Memory, History: h.d.Sweep.History, Log: h.log, Now: h.d.Now}
	self, _ := functionAccount(ctx, h.cfg.TopicARN)
	s.Reverts = h.sweepReverts(self, stale)
	if h.d.Hub != nil && !h.cfg.LocalOnly {
		// One Security Hub finding per rule: its exposure creates it, and
		// its resolution updates it. The sweep imports after it has
		// published, and retries a failed import without publishing.
		s.Import = func(ctx context.Context, f detect.Finding) error {
			return h.importFinding(ctx, f, "sweep/"+f.Event.AccountID+"/"+f.Event.Region+"/"+f.Sweep.Key)
		}
	}
	// The sweep's findings are decided on and rendered as events' are;
	// they carry their own live context (no Enricher).
	p := h.pipeline(nil)
	publish := func(ctx context.Context, f detect.Finding, key string) (bool, error) {
		r := p.Process(ctx, []detect.Finding{f})[0]
		if publish, err := h.decided(r); !publish || err != nil {
			return false, err
		}
		_, err := h.publishOnce(ctx, h.d.Sweep.Claims, key, r.Finding, r.Notification, stale)
		return err == nil, err
	}
	start := h.d.Now()
	stats, err := s.Run(ctx, req.ID, publish)
	for _, st := range stats {
		fields := []any{"sweepId", req.ID, "account", st.Account, "region", st.Region, "groups", st.Groups, "rules", st.Rules,
			"open", st.Open, "new", st.New, "resolved", st.Resolved, "held", st.Held, "imported", st.Imported, "reverted", st.Reverted}
		if st.Err != nil {
			h.log.Error("sweep failed", append(fields, "error", st.Err)...)
		} else {
			h.log.Info("swept", fields...)
		}
	}
	h.log.Info("sweep done", "sweepId", req.ID, "by", req.By, "targets", len(stats), "ms", h.d.Now().Sub(start).Milliseconds())
	if err = errors.Join(prior, err); err != nil {
		return &SweepError{err}
	}
	return nil
}
