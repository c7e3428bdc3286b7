// Package edxsso is the five-minute integration: edX single sign-on for a
// net/http service, with the GORM store, in one constructor.
//
//	sso, err := edxsso.New(ctx, edxsso.Options{BaseURL: "https://service.example.com"})
//	if err != nil {
//		log.Fatal(err) // a missing or malformed setting, named
//	}
//	defer sso.Close()
//	mux := http.NewServeMux()
//	sso.Mount(mux) // /login/, /logout/, /login/{backend}/, /complete/{backend}/, /disconnect/…
//	mux.Handle("GET /courses", sso.RequireLogin(courses)) // views.CurrentUser(r) inside
//
// New reads the settings once (SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT, _KEY,
// _SECRET, … from the environment unless Options.Settings is given, with
// upstream's EdxDjangoStrategy defaults below them), opens and migrates the
// database, and wires the edx-oauth2 backend, the default and edX pipeline
// steps, the Service, the session manager (its cookie Secure exactly when
// the base URL is https) and the views. Anything wrong stops New with an
// error that names the setting; nothing is checked later, at a sign-in.
//
// With SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS set (see
// storage.FieldKeysFrom), the provider tokens in each association's
// extra_data are stored encrypted: access_token, refresh_token, id_token
// and every member a backend declares secret (socialauth.SecretDeclarer).
//
// For anything this does not cover, build the same pieces by hand: see
// docs/quickstart.md, and New's body, which is the reference wiring.
package edxsso

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/views"
)

// DefaultDatabaseURL is the database of Options.DatabaseURL "": an embedded
// SQLite file in the working directory.
const DefaultDatabaseURL = "sqlite:socialauth.db"

// Options configure New. Only BaseURL is required.
type Options struct {
	// BaseURL is the service's public base URL, as the browser reaches it
	// (https://service.example.com, or http://127.0.0.1:8000 in
	// development). The redirect_uri and the session cookie's Secure flag
	// follow its scheme.
	BaseURL string
	// Prefix is where the sign-in routes are mounted ("" or a path such as
	// /auth); the redirect_uri follows it.
	Prefix string
	// DatabaseURL is sqlite:<path>, postgres://… or mysql://… ("":
	// DefaultDatabaseURL). The tables are created or migrated by New.
	DatabaseURL string
	// Settings are the Django-style settings (nil: the environment). The
	// edX defaults go below them.
	Settings *settings.Settings
	// Backends build more backends to serve next to edx-oauth2, from the
	// same settings (the edX defaults included). Their errors are reported
	// with those of every other setting, before the database is opened.
	Backends []BackendFunc
	// Steps are more pipeline steps to register, for a PIPELINE setting
	// that names them.
	Steps []socialauth.Step
	// Logger receives every log line (nil: discarded).
	Logger *slog.Logger
	// HTTPClient makes the calls to the LMS (nil: a default client).
	HTTPClient *http.Client
}

// BackendFunc builds a backend from the settings, as backends.OIDCConfigFrom
// and backends.NewOIDC do for the generic OpenID Connect backend. usedStates
// is the database's record of redeemed sign-in flows: give it to the
// backend (OAuth2Config.UsedStates), so that each flow is redeemed once
// across instances. It answers once New has opened the database.
type BackendFunc func(s *settings.Settings, usedStates socialauth.NonceStorage) (socialauth.Backend, error)

// SSO is a wired sign-in: the views (Mount, Routes, RequireLogin, …), the
// Service and the store. Close it when the service stops.
type SSO struct {
	*views.Views
	// Service runs the sign-in actions; connect to its AuthComplete signal
	// to hear of each sign-in.
	Service *socialauth.Service
	// Store is the database: the app's users (auth_user) and the social
	// tables.
	Store *storage.Store
	// Backend is the edx-oauth2 backend.
	Backend *edx.EdXOAuth2
}

// New wires edX sign-in for a net/http service (see the package doc).
func New(ctx context.Context, opts Options) (*SSO, error) {
	set := opts.Settings
	if set == nil {
		set = settings.New(settings.Env{})
	}
	set = edx.WithDefaults(set)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	// Every setting is read before the database is touched, so a mistyped
	// one is reported with all the others, and nothing is created.
	edxCfg, edxErr := edx.ConfigFrom(set)
	httpCfg, httpErr := strategies.HTTPConfigFrom(set, strategies.HTTPConfig{BaseURL: opts.BaseURL, Logger: logger})
	fieldKeys, _, keysErr := storage.FieldKeysFrom(set)
	errs := []error{edxErr, httpErr, keysErr}
	used := &openedStore{}
	var more []socialauth.Backend
	secrets := slices.Clone(edxCfg.OAuth2.SecretExtraData)
	for _, build := range opts.Backends {
		b, err := build(set, used)
		errs = append(errs, err)
		if b != nil {
			more = append(more, b)
			if d, ok := b.(socialauth.SecretDeclarer); ok {
				secrets = append(secrets, d.SecretExtraData()...)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = DefaultDatabaseURL
	}
	store, err := storage.Open(ctx, dbURL, storage.Options{Logger: logger, FieldKeys: fieldKeys, SecretMembers: secrets})
	if err != nil {
		return nil, err
	}
	used.store = store
	sso, err := wire(ctx, store, set, edxCfg, httpCfg, more, opts, logger)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return sso, nil
}

func wire(ctx context.Context, store *storage.Store, set *settings.Settings, edxCfg edx.Config,
	httpCfg strategies.HTTPConfig, more []socialauth.Backend, opts Options, logger *slog.Logger) (*SSO, error) {
	if err := store.AutoMigrate(ctx); err != nil {
		return nil, err
	}
	backend, err := edx.New(edxCfg, edx.Options{Logger: logger, HTTPClient: opts.HTTPClient, Users: store, UsedStates: store})
	if err != nil {
		return nil, err
	}
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	steps.Register(opts.Steps...)
	service, err := socialauth.New(socialauth.Options{
		Storage:  store,
		Backends: append([]socialauth.Backend{backend}, more...),
		Steps:    steps,
		Settings: set,
		Logger:   logger,
	})
	if err != nil {
		return nil, err
	}
	httpCfg.SessionStore = store.SessionStore()
	v, err := views.New(opts.Prefix, views.Config{Service: service, HTTP: httpCfg, DefaultBackend: edx.Name, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &SSO{Views: v, Service: service, Store: store, Backend: backend}, nil
}

// Close closes the database.
func (s *SSO) Close() error { return s.Store.Close() }

// openedStore is the NonceStorage handed to the BackendFuncs, which are
// built (and their settings checked) before the database is opened: it
// answers through the store once New has opened it.
type openedStore struct{ store *storage.Store }

func (o *openedStore) UseNonce(ctx context.Context, n socialauth.Nonce) (bool, error) {
	return o.store.UseNonce(ctx, n)
}
