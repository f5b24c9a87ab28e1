package identity

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"regexp"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Service links Slack users to their Entra ID accounts and gets delegated
// tokens for them. It is safe for concurrent use, and several Services
// (replicas, restarts) may share one Store.
type Service struct {
	cfg       settings
	aead      cipher.AEAD
	csrfKey   []byte // signs sign-in confirmation forms
	cred      confidential.Credential
	urlClient confidential.Client // builds authorize URLs; holds no token
	clients   *clientPool

	// Device-code waits in progress, stopped by Close.
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	closed  bool
	pollers sync.WaitGroup
	// devices are the pending device-code sign-ins, one per team:user: a
	// newer login cancels the older's wait.
	devices map[string]*pendingDevice
}

// New validates o and builds the service. It makes no network call.
func New(o Options) (*Service, error) {
	cfg, err := validate(o)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(cfg.Key)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, aead: aead, clients: newClientPool(maxClients), devices: map[string]*pendingDevice{}}
	mac := hmac.New(sha256.New, cfg.Key) // a key of its own, not the sealing key itself
	mac.Write([]byte("mdebot sign-in confirmation v1"))
	s.csrfKey = mac.Sum(nil)
	if cfg.Flow == FlowAuthCode {
		if s.cred, err = confidential.NewCredFromSecret(cfg.ClientSecret); err != nil {
			return nil, fmt.Errorf("identity.client_secret: %w", err)
		}
		if s.urlClient, err = s.newConfidential(nil); err != nil {
			return nil, err
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Flow is the linking flow in use (FlowAuthCode or FlowDeviceCode).
func (s *Service) Flow() string { return s.cfg.Flow }

// Scopes are the delegated scopes tokens are requested for.
func (s *Service) Scopes() []string { return append([]string(nil), s.cfg.scopes...) }

// Linked returns the user's link, or ErrNotLinked.
func (s *Service) Linked(ctx context.Context, team, user string) (*Link, error) {
	if err := checkIDs(team, user); err != nil {
		return nil, err
	}
	l, err := s.cfg.Store.LoadLink(ctx, team, user)
	if err != nil {
		return nil, fmt.Errorf("identity: load link: %w", err)
	}
	if l == nil {
		return nil, ErrNotLinked
	}
	return l, nil
}

// Unlink deletes the user's link and token cache. Unlinking a user who is
// not linked is not an error.
func (s *Service) Unlink(ctx context.Context, team, user string) error {
	if err := checkIDs(team, user); err != nil {
		return err
	}
	// Let an in-flight refresh of this user finish first, or its cache
	// write could land after the delete.
	if uc := s.clients.drop(clientKey(team, user)); uc != nil {
		uc.mu.Lock()
		defer uc.mu.Unlock()
	}
	if err := s.cfg.Store.DeleteLink(ctx, team, user); err != nil {
		return fmt.Errorf("identity: unlink: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "identity unlinked", "team", team, "user", user)
	return nil
}

// Close stops device-code waits in progress and waits for them to return.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.pollers.Wait()
}

// track registers a background wait; it fails once the service is closed.
func (s *Service) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.pollers.Add(1)
	return true
}

func (s *Service) userClient(team, user string) (*userClient, error) {
	return s.clients.get(clientKey(team, user), func() (*userClient, error) { return s.newUserClient(team, user) })
}

func clientKey(team, user string) string { return team + ":" + user }

// slackID matches Slack team and user IDs (T0123ABC, U0123ABC, E..., W...).
// No ':' so team:user is unambiguous as associated data and as a key.
var slackID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func checkIDs(team, user string) error {
	if !slackID.MatchString(team) {
		return fmt.Errorf("identity: %q is not a Slack team ID", team)
	}
	if !slackID.MatchString(user) {
		return fmt.Errorf("identity: %q is not a Slack user ID", user)
	}
	return nil
}

// errClosed: the service is shutting down.
var errClosed = fmt.Errorf("identity: the service is shutting down: %w", ErrInterrupted)
