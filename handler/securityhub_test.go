package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sgwatch/sgwatch/detect"
	"github.com/sgwatch/sgwatch/report"
	"github.com/sgwatch/sgwatch/sweep"
)

// fakeHub records imports and fails while err is set.
type fakeHub struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (f *fakeHub) Import(_ context.Context, fd detect.Finding, id string, c report.Caller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.ids = append(f.ids, id+" "+string(fd.Action)+" "+c.Account)
	return nil
}

// TestHubImport: each published finding is imported under its idempotency
// key; a failed import fails the invocation (ImportError) and its retry
// imports without publishing again; without the idempotency table it is
// only logged, since a retry would publish twice.
func TestHubImport(t *testing.T) {
	pub := &fakeSNS{}
	h, logs := newHandler(t, report.Text, pub)
	hb := &fakeHub{err: errors.New("securityhub BatchImportFindings: HTTP 503")}
	h = with(h, func(d *Deps) { d.Claims, d.Hub = newFakeOnce(), hb })
	ev := event(t, "authorize-ingress-world-ssh")

	err := h.Handle(context.Background(), ev)
	var ie *ImportError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "HTTP 503") || len(pub.got) != 1 {
		t.Fatalf("failed import: %v (%T), %d publishes; want an ImportError after one publish", err, err, len(pub.got))
	}
	hb.err = nil
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(pub.got) != 1 || len(hb.ids) != 1 || hb.ids[0] != "event/00000003-5c1e-4d6b-9a2f-3e4b5c6d7e8f/0 modify 111122223333" {
		t.Fatalf("retry: %d publishes, imports %q", len(pub.got), hb.ids)
	}
	if !strings.Contains(logs.String(), "imported into Security Hub") {
		t.Error("the import is not logged")
	}

	// Without the idempotency table: logged, not retried.
	pub2 := &fakeSNS{}
	h2, logs2 := newHandler(t, report.Text, pub2)
	h2 = with(h2, func(d *Deps) { d.Hub = &fakeHub{err: errors.New("AccessDenied")} })
	if err := h2.Handle(context.Background(), ev); err != nil || len(pub2.got) != 1 || !strings.Contains(logs2.String(), "not retried") {
		t.Fatalf("without a table: %v, %d publishes, log %s", err, len(pub2.got), logs2.String())
	}

	// A publish that fails is a PublishError, whatever Security Hub does.
	pub3 := &fakeSNS{err: errors.New("SNS down")}
	h3, _ := newHandler(t, report.Text, pub3)
	h3 = with(h3, func(d *Deps) { d.Claims, d.Hub = newFakeOnce(), &fakeHub{} })
	var pe *PublishError
	if err := h3.Handle(context.Background(), ev); !errors.As(err, &pe) {
		t.Fatalf("failed publish: %v (%T)", err, err)
	}
}

// TestHubSweep: an exposure and its resolution are one Security Hub
// finding (one id).
func TestHubSweep(t *testing.T) {
	l := &groupLister{}
	h, _, _ := sweepHandler(t, SweepConfig{Enabled: true}, l)
	hb := &fakeHub{}
	h = with(h, func(d *Deps) { d.Hub = hb })
	if err := h.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	if len(hb.ids) != 2 {
		t.Fatalf("imports %q, want the 2 exposures", hb.ids)
	}
	for _, id := range hb.ids {
		if !strings.HasPrefix(id, "sweep/111122223333/eu-west-1/sgr-") || !strings.HasSuffix(id, " exposure 111122223333") {
			t.Errorf("import %q", id)
		}
	}
}

// Regressions in the chat format and the Security Hub sink: each
// reproduces a problem a red-team review of issue 13 found (now fixed),
// and fails if it returns.

// TestSweepImportFailureRepublishes: a sweep exposure whose SNS
// publish succeeded but whose Security Hub import failed is not remembered
// ("published at the retry"), and the retry's idempotency key includes the
// memory's version, which the failed sweep bumped when it wrote its
// memory. So the retry (same sweep id) claims a new key and publishes the
// exposure to SNS again; a persistent import failure (Security Hub not
// enabled, a missing permission) re-publishes it at every sweep.
func TestSweepImportFailureRepublishes(t *testing.T) {
	pub := &lockedSNS{}
	l := &rtLister{open: true}
	h := regressSweeper(t, pub, l)
	hb := &fakeHub{err: errors.New("securityhub BatchImportFindings: HTTP 503")}
	h = with(h, func(d *Deps) { d.Hub = hb })

	var got []string
	// The sweep, then Lambda's retry of it (same id).
	for range 2 {
		if err := h.Handle(context.Background(), []byte(sweepPayload)); err == nil {
			t.Fatal("a failed import did not fail the sweep")
		}
		got = append(got, pub.subjects()...)
	}
	if len(got) != 1 {
		t.Errorf("the sweep and its retry published the exposure %d times to SNS (want once; only the import should be retried):\n%s", len(got), strings.Join(got, "\n"))
	}

	// The next scheduled sweeps, while Security Hub still fails.
	for _, id := range []string{"exec-2", "exec-3"} {
		h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"`+id+`"}`))
		got = append(got, pub.subjects()...)
	}
	if len(got) != 1 {
		t.Errorf("with Security Hub failing, 4 sweeps published the same exposure %d times to SNS", len(got))
	}
}

// TestSweepResolvedImportFailureRepublishes: the same for a
// resolution: its import fails, it stays "resolving", and the retry
// publishes the resolution to SNS again under a new key.
func TestSweepResolvedImportFailureRepublishes(t *testing.T) {
	pub := &lockedSNS{}
	l := &rtLister{open: true}
	h := regressSweeper(t, pub, l)
	hb := &fakeHub{}
	h = with(h, func(d *Deps) { d.Hub = hb })
	if err := h.Handle(context.Background(), []byte(sweepPayload)); err != nil {
		t.Fatal(err)
	}
	pub.subjects()
	l.open = false
	hb.err = errors.New("securityhub BatchUpdateFindings: HTTP 500")
	var got []string
	for range 2 { // the sweep and Lambda's retry
		h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"exec-2"}`))
		got = append(got, pub.subjects()...)
	}
	if len(got) != 1 {
		t.Errorf("the resolution was published %d times to SNS (want once):\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestImportErrorWhenTableDown: when the idempotency table is
// unreachable (Claim fails) the notification is published anyway, and a
// failed import is then an ImportError, so Lambda retries the invocation;
// the retry publishes the notification again (the table recorded nothing).
// deliver only checks o == nil, not whether the publish was recorded.
func TestImportErrorWhenTableDown(t *testing.T) {
	pub := &fakeSNS{}
	h, _ := newHandler(t, report.Text, pub)
	o := newFakeOnce()
	o.err = errors.New("dynamodb: RequestLimitExceeded")
	h = with(h, func(d *Deps) {
		d.Claims, d.Hub = o, &fakeHub{err: errors.New("securityhub BatchImportFindings: HTTP 503")}
	})
	ev := event(t, "authorize-ingress-world-ssh")
	// Lambda: the first attempt and up to two retries while it fails.
	for range 3 {
		if err := h.Handle(context.Background(), ev); err == nil {
			break
		}
	}
	if len(pub.got) != 1 {
		t.Errorf("with the table down and Security Hub failing, the notification was published %d times (want once: the import failure should only be logged when the publish was not recorded)", len(pub.got))
	}
}

// TestImportErrorWhenDoneFails: the same when the claim worked but
// marking it published (Done) failed: the retry finds the claim stale (a
// minute later) and publishes again.
func TestImportErrorWhenDoneFails(t *testing.T) {
	pub := &fakeSNS{}
	h, _ := newHandler(t, report.Text, pub)
	o := &doneFails{fakeOnce: newFakeOnce()}
	h = with(h, func(d *Deps) {
		d.Claims, d.Hub = o, &fakeHub{err: errors.New("securityhub BatchImportFindings: HTTP 503")}
	})
	ev := event(t, "authorize-ingress-world-ssh")
	now := time.Now()
	for i := range 3 {
		at := now.Add(time.Duration(i) * 2 * time.Minute) // Lambda retries after a minute or more
		h = with(h, func(d *Deps) { d.Now = func() time.Time { return at } })
		if err := h.Handle(context.Background(), ev); err == nil {
			break
		}
	}
	if len(pub.got) != 1 {
		t.Errorf("with Done failing and Security Hub failing, the notification was published %d times (want once)", len(pub.got))
	}
}

type doneFails struct{ *fakeOnce }

func (d *doneFails) Done(context.Context, string, time.Time) error {
	return errors.New("dynamodb: ProvisionedThroughputExceededException")
}

// asffHub records the ASFF UpdatedAt of every import.
type asffHub struct {
	mu      sync.Mutex
	updated []string
}

func (a *asffHub) Import(_ context.Context, f detect.Finding, id string, c report.Caller) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.updated = append(a.updated, report.ToASFF(f, id, c, time.Now()).UpdatedAt)
	return nil
}

// TestOpenExposureExpiresFromSecurityHub: an exposure is imported
// once, when first published, with UpdatedAt = when it was first seen; the
// sweeps that find it still open never import it again. Security Hub
// deletes an ACTIVE finding 90 days after its UpdatedAt, so a world-open
// rule left open for 3 months silently disappears from Security Hub while
// it is still open.
func TestOpenExposureExpiresFromSecurityHub(t *testing.T) {
	pub := &lockedSNS{}
	l := &rtLister{open: true}
	h := regressSweeper(t, pub, l)
	hb := &asffHub{}
	h = with(h, func(d *Deps) { d.Hub = hb })
	start := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	var last time.Time
	for day := 0; day <= 100; day += 10 {
		last = start.Add(time.Duration(day) * 24 * time.Hour)
		h = with(h, func(d *Deps) { d.Now = func() time.Time { return last } })
		if err := h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"day-`+strconv.Itoa(day)+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	newest := ""
	for _, u := range hb.updated {
		newest = max(newest, u)
	}
	at, _ := time.Parse("2006-01-02T15:04:05.000Z", newest)
	if last.Sub(at) >= 90*24*time.Hour {
		t.Errorf("the exposure is still open on day 100, but its Security Hub finding was last updated at %s (%d imports): Security Hub has deleted it", newest, len(hb.updated))
	}
}

// manyLister lists n groups, each with a world SSH rule.
type manyLister struct{ n int }

func (m manyLister) Groups(context.Context) ([]sweep.Group, error) {
	var out []sweep.Group
	p := int32(22)
	for i := range m.n {
		out = append(out, sweep.Group{SecurityGroup: detect.SecurityGroup{ID: fmt.Sprintf("sg-%017x", i+1)},
			Rules: []detect.Rule{detect.Listed{ID: fmt.Sprintf("sgr-%017x", i+1), Protocol: "tcp", FromPort: &p, ToPort: &p, CIDRIPv4: "0.0.0.0/0"}.Rule()}})
	}
	return out, nil
}

func (manyLister) Events(context.Context, string, int) ([][]byte, error) { return [][]byte{}, nil }

// slowHub takes d per import (a slow or stalled Security Hub: the real
// client spends up to 3 attempts of 5 s each), honouring ctx.
type slowHub struct{ d time.Duration }

func (s slowHub) Import(ctx context.Context, _ detect.Finding, _ string, _ report.Caller) error {
	select {
	case <-time.After(s.d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestSlowHubDelaysAlerts: the import runs inline after each SNS
// publish, so the sweep's SNS notifications wait on Security Hub: when it
// is slow (each import can take ~15 s: 3 attempts of 5 s), a sweep with
// many new exposures (the first sweep after deploying publishes every
// existing one) runs out of time having published only a few; the e-mail
// and chat alerts are held back by the optional Security Hub sink.
func TestSlowHubDelaysAlerts(t *testing.T) {
	pub := &ctxSNS{}
	h := regressSweeper(t, pub, manyLister{n: 12})
	h = with(h, func(d *Deps) { d.Hub = slowHub{d: 150 * time.Millisecond} })       // 1/100 of the real worst case
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond) // 1 s after the margin
	defer cancel()
	h.Handle(ctx, []byte(sweepPayload))
	if got := len(pub.subjects()); got != 12 {
		t.Errorf("a slow Security Hub let the sweep publish only %d of 12 exposures to SNS before its deadline", got)
	}
}

// ctxSNS fails a publish whose context is done, as the SDK client does.
type ctxSNS struct{ lockedSNS }

func (c *ctxSNS) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.lockedSNS.Publish(ctx, in, opts...)
}

// panicHub is a Security Hub sink with a bug.
type panicHub struct{}

func (panicHub) Import(context.Context, detect.Finding, string, report.Caller) error {
	panic("index out of range")
}

// TestHubPanicStopsSweepAlerts: a panic in Import is recovered
// only by the sweep's per-target recover, which abandons the whole target:
// the other exposures are not published to SNS, their resolutions
// neither, and the memory is not written, at every sweep for as long as
// the bug lasts. The optional sink's bug silences the primary alerts.
func TestHubPanicStopsSweepAlerts(t *testing.T) {
	pub := &lockedSNS{}
	h := regressSweeper(t, pub, manyLister{n: 3})
	h = with(h, func(d *Deps) { d.Hub = panicHub{} })
	h.Handle(context.Background(), []byte(sweepPayload))
	if got := pub.subjects(); len(got) != 3 {
		t.Errorf("a panicking Security Hub import let %d of 3 exposures reach SNS", len(got))
	}
}

// validatingHub rejects, as Security Hub's input validation does, an ASFF
// finding with a string that does not match NonEmptyString (.*\S.*).
type validatingHub struct{ imported int }

func (v *validatingHub) Import(_ context.Context, f detect.Finding, id string, c report.Caller) error {
	b, _ := json.Marshal(report.ToASFF(f, id, c, time.Now()))
	if bytes.Contains(b, []byte(`:""`)) {
		return errors.New(`securityhub BatchImportFindings: HTTP 400: InvalidInputException: Map value must satisfy regular expression pattern: .*\S.*`)
	}
	v.imported++
	return nil
}

// taggedLister lists one group with a world SSH rule and a tag whose value
// is empty (EC2 allows it; anyone with ec2:CreateTags can add one).
type taggedLister struct{}

func (taggedLister) Groups(context.Context) ([]sweep.Group, error) {
	p := int32(22)
	return []sweep.Group{{SecurityGroup: detect.SecurityGroup{ID: "sg-00000000000000001", Tags: map[string]string{"Name": "web", "kubernetes.io/role/elb": ""}},
		Rules: []detect.Rule{detect.Listed{ID: "sgr-00000000000000011", Protocol: "tcp", FromPort: &p, ToPort: &p, CIDRIPv4: "0.0.0.0/0"}.Rule()}}}, nil
}

func (taggedLister) Events(context.Context, string, int) ([][]byte, error) { return [][]byte{}, nil }

// TestEmptyTagHourlyStorm: the exposure of a group with an empty
// tag value can never be imported (findings hub/TestRegressEmptyTagValue
// and TestRegressSweepImportFailureRepublishes together): every hourly
// sweep publishes the same exposure to SNS again, and it never reaches
// Security Hub.
func TestEmptyTagHourlyStorm(t *testing.T) {
	pub := &lockedSNS{}
	h := regressSweeper(t, pub, taggedLister{})
	hb := &validatingHub{}
	h = with(h, func(d *Deps) { d.Hub = hb })
	n := 0
	for hour := range 3 {
		h.Handle(context.Background(), []byte(`{"sgwatch":"sweep","id":"hour-`+strconv.Itoa(hour)+`"}`))
		n += len(pub.subjects())
	}
	if n != 1 || hb.imported != 1 {
		t.Errorf("3 hourly sweeps of one open exposure on a group with an empty tag value: %d SNS notifications (want 1), %d Security Hub imports (want 1)", n, hb.imported)
	}
}

// regressSweeper is a handler that sweeps what l lists, with a memory and
// claims in memory, and publishes to pub.
func regressSweeper(t *testing.T, pub Publisher, l sweep.Lister) *Handler {
	t.Helper()
	h, _ := newHandler(t, report.Text, pub)
	h.cfg.Sweep = SweepConfig{Enabled: true}
	h = with(h, func(d *Deps) {
		d.Sweep = &Sweeps{Lister: func(context.Context, sweep.Target) (sweep.Lister, error) { return l, nil },
			Memory: &rtMemory{data: map[string][]byte{}, version: map[string]int64{}}, Claims: newFakeOnce()}
	})
	h.cfg.Region = "eu-west-1"
	return h
}
