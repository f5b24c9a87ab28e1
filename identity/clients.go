package identity

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// maxClients bounds the per-user MSAL clients kept in memory. An evicted
// user only costs a new client (and one openid-configuration fetch): the
// tokens live in the database.
const maxClients = 1024

// newConfidential is an auth-code client (with the client secret) whose
// cache is c.
func (s *Service) newConfidential(c cache.ExportReplace) (confidential.Client, error) {
	opts := []confidential.Option{confidential.WithInstanceDiscovery(s.cfg.discovery)}
	if c != nil {
		opts = append(opts, confidential.WithCache(c))
	}
	if s.cfg.HTTPClient != nil {
		opts = append(opts, confidential.WithHTTPClient(s.cfg.HTTPClient))
	}
	cli, err := confidential.New(s.cfg.authority, s.cfg.ClientID, s.cred, opts...)
	if err != nil {
		return confidential.Client{}, fmt.Errorf("identity: MSAL client: %w", err)
	}
	return cli, nil
}

// newPublic is a device-code client whose cache is c (device code needs a
// public client).
func (s *Service) newPublic(c cache.ExportReplace) (public.Client, error) {
	opts := []public.Option{
		public.WithAuthority(s.cfg.authority),
		public.WithInstanceDiscovery(s.cfg.discovery),
		public.WithCache(c),
	}
	if s.cfg.HTTPClient != nil {
		opts = append(opts, public.WithHTTPClient(s.cfg.HTTPClient))
	}
	cli, err := public.New(s.cfg.ClientID, opts...)
	if err != nil {
		return public.Client{}, fmt.Errorf("identity: MSAL client: %w", err)
	}
	return cli, nil
}

// userClient is one Slack user's MSAL client, bound to that user's cache row
// (a client shared between users races on its in-memory cache).
type userClient struct {
	// mu serialises the user's MSAL calls, so two requests never refresh at once.
	mu     sync.Mutex
	cache  *userCache
	silent func(ctx context.Context, homeAccountID string) (string, error)
}

func (s *Service) newUserClient(team, user string) (*userClient, error) {
	uc := &userClient{cache: &userCache{store: s.cfg.Store, aead: s.aead, team: team, user: user}}
	switch s.cfg.Flow {
	case FlowDeviceCode:
		cli, err := s.newPublic(uc.cache)
		if err != nil {
			return nil, err
		}
		uc.silent = func(ctx context.Context, id string) (string, error) {
			res, err := cli.AcquireTokenSilent(ctx, s.cfg.scopes, public.WithSilentAccount(public.Account{HomeAccountID: id}))
			return res.AccessToken, err
		}
	default:
		cli, err := s.newConfidential(uc.cache)
		if err != nil {
			return nil, err
		}
		uc.silent = func(ctx context.Context, id string) (string, error) {
			res, err := cli.AcquireTokenSilent(ctx, s.cfg.scopes, confidential.WithSilentAccount(confidential.Account{HomeAccountID: id}))
			return res.AccessToken, err
		}
	}
	return uc, nil
}

// clientPool keeps the most recently used userClients, at most max of them.
type clientPool struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *poolEntry, most recent first
	byKey map[string]*list.Element
}

type poolEntry struct {
	key string
	c   *userClient
}

func newClientPool(max int) *clientPool {
	return &clientPool{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns key's client, making it with mk when absent.
func (p *clientPool) get(key string, mk func() (*userClient, error)) (*userClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if el, ok := p.byKey[key]; ok {
		p.order.MoveToFront(el)
		return el.Value.(*poolEntry).c, nil
	}
	c, err := mk()
	if err != nil {
		return nil, err
	}
	p.byKey[key] = p.order.PushFront(&poolEntry{key: key, c: c})
	for p.order.Len() > p.max {
		last := p.order.Back()
		p.order.Remove(last)
		delete(p.byKey, last.Value.(*poolEntry).key)
	}
	return c, nil
}

// drop forgets key's client and returns it (nil when absent).
func (p *clientPool) drop(key string) *userClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	el, ok := p.byKey[key]
	if !ok {
		return nil
	}
	p.order.Remove(el)
	delete(p.byKey, key)
	return el.Value.(*poolEntry).c
}
