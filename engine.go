package socialauth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"
)

// DefaultPartialTTL bounds how long a paused pipeline can be resumed
// (setting PARTIAL_PIPELINE_TTL overrides it).
const DefaultPartialTTL = 24 * time.Hour

// RunPipeline runs steps over st from index start, outside any transaction
// (the actions wrap it in one). It returns a non-nil response when a step
// stopped or paused the pipeline. Useful to test custom steps.
func (s *Service) RunPipeline(ctx context.Context, st *State, steps []Step, start int) (*Response, error) {
	if start < 0 || start >= len(steps) {
		// Upstream resets an out-of-range index to 0.
		start = 0
	}
	if st.Storage == nil {
		st.Storage = s.storage
	}
	if st.Logger == nil {
		st.Logger = s.logger
	}
	for i := start; i < len(steps); i++ {
		step := steps[i]
		st.Index = i
		resp, err := step.Func(ctx, st)
		if err != nil {
			return nil, err
		}
		if resp == nil {
			continue
		}
		if step.Partial {
			if err := s.savePartial(ctx, st, i); err != nil {
				return nil, err
			}
		}
		return resp, nil
	}
	return nil, nil
}

// pipelineRuns bounds how many times runInTransaction runs a pipeline: a
// unique-key collision restarts it once, a conflict (ErrConflict) as long
// as runs remain.
const pipelineRuns = 3

// runInTransaction runs the pipeline in one storage transaction. A unique-key
// collision (two first logins of one uid racing, say) rolls everything back
// and the pipeline runs once more from the same starting state, so the
// loser finds the winner's rows: upstream's advice after CVE-2025-61783 ("the
// only safe way is to restart the pipeline"), without orphaned users. A
// transaction the database aborted to resolve a conflict (ErrConflict: a
// deadlock, a serialization failure) was rolled back too, and runs again
// after a short jittered pause; at most pipelineRuns runs in all.
func (s *Service) runInTransaction(ctx context.Context, initial *State, steps []Step, start int) (*State, *Response, error) {
	restartedOnDuplicate := false
	for run := 1; ; run++ {
		st := initial.clone()
		var resp *Response
		err := s.storage.Transaction(ctx, func(tx Storage) error {
			st.Storage = tx
			var err error
			resp, err = s.RunPipeline(ctx, st, steps, start)
			return err
		})
		if err == nil {
			st.Storage = s.storage
			return st, resp, nil
		}
		switch {
		case run < pipelineRuns && errors.Is(err, ErrDuplicate) && !restartedOnDuplicate:
			restartedOnDuplicate = true
			s.logger.Info("socialauth: pipeline restarted after a unique-key collision", "backend", initial.Backend.Name())
		case run < pipelineRuns && errors.Is(err, ErrConflict):
			s.logger.Info("socialauth: pipeline restarted after the database aborted a conflicting transaction",
				"backend", initial.Backend.Name(), "run", run)
			if werr := conflictPause(ctx, run); werr != nil {
				return nil, nil, errors.Join(err, werr)
			}
		case errors.Is(err, ErrDuplicate):
			return nil, nil, &Error{Code: CodeAuthAlreadyAssociated, Backend: initial.Backend.Name(), Err: err}
		default:
			return nil, nil, err
		}
	}
}

// conflictPause waits before run+1 of a pipeline whose transaction lost a
// conflict: run×10ms, half of it random so racing runs spread out. It
// returns ctx's error if ctx ends first.
func conflictPause(ctx context.Context, run int) error {
	half := time.Duration(run) * 5 * time.Millisecond
	t := time.NewTimer(half + rand.N(half))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// clone copies the state so a restarted run starts from the same values.
func (st *State) clone() *State {
	c := *st
	c.Details = maps.Clone(st.Details)
	c.Values = maps.Clone(st.Values)
	c.User = st.User.Clone()
	if st.Social != nil {
		soc := *st.Social
		c.Social = &soc
	}
	c.Entries = append([]*UserSocialAuth(nil), st.Entries...)
	c.partialToken = ""
	return &c
}

// Snapshot returns the JSON-safe part of the state that a partial keeps.
func (st *State) Snapshot() map[string]any {
	m := map[string]any{
		"details":         map[string]any(st.Details),
		"uid":             st.UID,
		"is_new":          st.IsNew,
		"new_association": st.NewAssociation,
		"username":        st.Username,
		"response":        st.Response,
		"values":          st.Values,
	}
	if st.User != nil {
		m["user_id"] = st.User.ID
	}
	if st.Social != nil {
		m["social_id"] = strconv.FormatInt(st.Social.ID, 10)
	}
	if st.AssociationID != 0 {
		m["association_id"] = strconv.FormatInt(st.AssociationID, 10)
	}
	return m
}

func (s *Service) savePartial(ctx context.Context, st *State, index int) error {
	// A round trip through JSON keeps only what a database would keep, so
	// a resumed pipeline sees the same values whatever the store; numbers
	// come back as json.Number, every digit kept, as the stores read them.
	raw, err := json.Marshal(st.Snapshot())
	if err != nil {
		return fmt.Errorf("socialauth: pipeline state is not JSON-safe: %w", err)
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return err
	}
	binding := sessionBinding(st.Strategy)
	p := &Partial{
		Token:     st.PartialToken(),
		Backend:   st.Backend.Name(),
		NextStep:  index,
		Data:      data,
		Binding:   binding,
		CreatedAt: s.now(),
	}
	if err := st.Storage.SavePartial(ctx, p); err != nil {
		return err
	}
	st.Strategy.SessionSet(SessionPartialToken, p.Token)
	return nil
}

// sessionBinding returns the session's random partial binding, making one.
func sessionBinding(st Strategy) string {
	if v, ok := st.SessionGet(SessionPartialBinding); ok {
		if s, _ := v.(string); s != "" {
			return s
		}
	}
	b := RandomString(32)
	st.SessionSet(SessionPartialBinding, b)
	return b
}

// resumePartial finds a partial this session may resume (social-core 5.x
// model): a token in the request must equal the session's; the partial must
// belong to this backend and this session's binding, and be younger than
// PARTIAL_PIPELINE_TTL. It is consumed (single use) before it runs. A stale
// partial in the session does not hijack a fresh provider callback.
func (s *Service) resumePartial(ctx context.Context, st Strategy, sv *served, loggedIn *User) (int, *State, error) {
	data := st.RequestData()
	reqToken := data.Get(PartialTokenParam)
	v, _ := st.SessionGet(SessionPartialToken)
	sessToken, _ := v.(string)
	name := sv.backend.Name()
	switch {
	case reqToken != "" && subtle.ConstantTimeCompare([]byte(reqToken), []byte(sessToken)) != 1:
		return 0, nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "partial pipeline not owned by this session"}
	case sessToken == "":
		return 0, nil, nil
	case reqToken == "" && isCallback(sv.backend, data):
		// A new callback: Complete drops the abandoned partial once the
		// backend has accepted the callback (a forged one drops nothing).
		return 0, nil, nil
	}
	p, err := s.storage.LoadPartial(ctx, sessToken)
	if errors.Is(err, ErrNotFound) {
		st.SessionPop(SessionPartialToken)
		if reqToken != "" {
			return 0, nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "unknown or used partial pipeline"}
		}
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	ttl := sv.cfg.PartialPipelineTTL
	binding, _ := st.SessionGet(SessionPartialBinding)
	bs, _ := binding.(string)
	switch {
	case p.Backend != name:
		// Upstream: a partial of another backend is not resumed here.
		if reqToken != "" {
			return 0, nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "partial pipeline of another backend"}
		}
		return 0, nil, nil
	case bs == "" || subtle.ConstantTimeCompare([]byte(bs), []byte(p.Binding)) != 1:
		// Not this session's: refuse, and leave the owner's partial alone.
		st.SessionPop(SessionPartialToken)
		return 0, nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "partial pipeline not owned by this session"}
	case s.now().Sub(p.CreatedAt) > ttl:
		s.dropPartial(ctx, st, sessToken)
		return 0, nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "partial pipeline expired"}
	}
	deleted, err := s.storage.DeletePartial(ctx, p.Token)
	if err != nil {
		return 0, nil, err
	}
	st.SessionPop(SessionPartialToken)
	if !deleted {
		return 0, nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "partial pipeline already used"}
	}
	state, err := s.restore(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	if loggedIn != nil {
		state.User = loggedIn
	}
	return p.NextStep, state, nil
}

// isCallback asks the backend whether data is its provider's callback.
func isCallback(b Backend, data url.Values) bool {
	d, ok := b.(CallbackDetector)
	return ok && d.IsCallback(data)
}

// dropAbandonedPartial forgets the partial this session paused when a new
// sign-in has just been accepted in its place (a provider callback without
// partial_token).
func (s *Service) dropAbandonedPartial(ctx context.Context, st Strategy) {
	if st.RequestData().Get(PartialTokenParam) != "" {
		return
	}
	if v, ok := st.SessionGet(SessionPartialToken); ok {
		if tok, _ := v.(string); tok != "" {
			s.dropPartial(ctx, st, tok)
		}
	}
}

func (s *Service) dropPartial(ctx context.Context, st Strategy, token string) {
	st.SessionPop(SessionPartialToken)
	if _, err := s.storage.DeletePartial(ctx, token); err != nil {
		s.logger.WarnContext(ctx, "socialauth: dropping partial failed", "error", err)
	}
}

// restore rebuilds a state from a partial's data.
func (s *Service) restore(ctx context.Context, p *Partial) (*State, error) {
	d := p.Data
	str := func(k string) string { v, _ := d[k].(string); return v }
	boolean := func(k string) bool { v, _ := d[k].(bool); return v }
	st := &State{
		UID:            str("uid"),
		IsNew:          boolean("is_new"),
		NewAssociation: boolean("new_association"),
		Username:       str("username"),
	}
	if m, ok := d["details"].(map[string]any); ok {
		st.Details = Details(m)
	}
	if m, ok := d["response"].(map[string]any); ok {
		st.Response = m
	}
	if m, ok := d["values"].(map[string]any); ok {
		st.Values = m
	}
	if id := str("user_id"); id != "" {
		u, err := s.storage.GetUser(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		st.User = u
	}
	if id, err := strconv.ParseInt(str("social_id"), 10, 64); err == nil && id != 0 {
		soc, err := s.storage.GetSocialAuthByID(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		st.Social = soc
	}
	if id, err := strconv.ParseInt(str("association_id"), 10, 64); err == nil {
		st.AssociationID = id
	}
	return st, nil
}
