// Package entratest is a fake Entra ID (Azure AD v2.0) authority for tests and
// the demo. It serves the endpoints MSAL Go uses over TLS (httptest), with the
// response shapes of /work/shared/reference/msal-go.md: openid-configuration,
// authorize (driven by a simulated browser, Browse), token (authorization_code
// with PKCE, refresh_token, device_code) and devicecode. Failures are
// controllable (revoked refresh tokens, expired device codes, users of another
// tenant) and everything it saw is recorded.
package entratest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// User is an account the fake can sign in.
type User struct {
	OID      string // object id; a random GUID when empty
	Username string // preferred_username (UPN-like), the sign-in name
	Email    string // optional email claim
	Name     string // optional display name
	TenantID string // home tenant (the tid of its tokens); the server's when empty
}

// Client is a registered application. Registering any client makes the
// server strict: unknown client ids are refused, a wrong secret is refused,
// and a client with a Secret must present it to redeem an authorization
// code (a web redirect) or a refresh token it got with its secret. Device
// code (public client flows) needs no secret.
type Client struct {
	ID     string
	Secret string
}

// Request is one request the fake answered. It holds no secret: codes,
// verifiers, tokens and client secrets are not recorded.
type Request struct {
	Method    string
	Path      string
	Endpoint  string // openid-configuration, authorize, token, devicecode, other
	GrantType string // token endpoint only
	ClientID  string
	Scopes    []string
	// ClientSecret reports whether a client_secret was sent (confidential client).
	ClientSecret bool
	// CodeVerifier reports whether a PKCE code_verifier was sent.
	CodeVerifier bool
	Status       int
	Error        string // the OAuth error code answered, if any
}

// TokenInfo describes an access token the fake issued.
type TokenInfo struct {
	User      User
	ClientID  string
	Scopes    []string
	ExpiresAt time.Time
}

// Server is the fake authority. Its zero value is not usable: call New.
type Server struct {
	tenant string
	srv    *httptest.Server

	mu         sync.Mutex
	users      map[string]*User // by lower-cased username
	clients    map[string]Client
	codes      map[string]*authCode
	refresh    map[string]*refreshGrant
	devices    map[string]*deviceGrant // by device_code
	userCodes  map[string]string       // user_code -> device_code
	access     map[string]TokenInfo
	issued     []string
	requests   []Request
	accessTTL  time.Duration
	deviceTTL  time.Duration
	codeTTL    time.Duration
	usedCodes  map[string]bool
	refreshTTL time.Duration
}

type authCode struct {
	clientID, redirectURI string
	challenge, method     string
	user                  User
	scopes                []string
	expires               time.Time
}

type refreshGrant struct {
	user         User
	clientID     string
	revoked      bool
	expires      time.Time
	confidential bool // issued to a client that authenticated: refreshing needs the secret
}

type deviceGrant struct {
	userCode string
	clientID string
	user     *User // set when approved
	expires  time.Time
	expired  bool
}

// New starts a fake authority for tenantID (use a GUID, as Entra does). Call
// Close when done.
func New(tenantID string) *Server {
	s := &Server{
		tenant:     tenantID,
		users:      map[string]*User{},
		clients:    map[string]Client{},
		codes:      map[string]*authCode{},
		usedCodes:  map[string]bool{},
		refresh:    map[string]*refreshGrant{},
		devices:    map[string]*deviceGrant{},
		userCodes:  map[string]string{},
		access:     map[string]TokenInfo{},
		accessTTL:  time.Hour,
		deviceTTL:  15 * time.Minute,
		codeTTL:    10 * time.Minute,
		refreshTTL: 90 * 24 * time.Hour,
	}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// TenantID is the tenant the server was created for.
func (s *Server) TenantID() string { return s.tenant }

// URL is the authority host, https://127.0.0.1:port (append /{tenant} for MSAL).
func (s *Server) URL() string { return s.srv.URL }

// Client is an HTTP client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// WriteCACert writes the fake's certificate as PEM, for SSL_CERT_FILE in
// subprocess tests.
func (s *Server) WriteCACert(path string) error {
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o644); err != nil {
		return fmt.Errorf("entratest: write CA cert: %w", err)
	}
	return nil
}

// AddUser adds (or replaces) an account that can sign in.
func (s *Server) AddUser(u User) {
	if u.OID == "" {
		u.OID = newGUID()
	}
	if u.TenantID == "" {
		u.TenantID = s.tenant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(u.Username)] = &u
}

// AddClient registers an application and makes the server strict about clients.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// RevokeRefreshTokens revokes every refresh token issued so far to username:
// redeeming one answers 400 invalid_grant (AADSTS700082). Tokens issued
// after the call (a new sign-in) work.
func (s *Server) RevokeRefreshTokens(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.refresh {
		if strings.EqualFold(g.user.Username, username) {
			g.revoked = true
		}
	}
}

// ExpireDeviceCodes makes every pending device code answer expired_token.
func (s *Server) ExpireDeviceCodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.devices {
		g.expired = true
	}
}

// SetAccessTokenTTL sets expires_in of access tokens issued from now on.
// Below 300 s MSAL never serves the token from its cache, which forces the
// refresh path on every silent call.
func (s *Server) SetAccessTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL = d
}

// SetDeviceCodeTTL sets expires_in of device codes issued from now on
// (whole seconds, at least one).
func (s *Server) SetDeviceCodeTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deviceTTL = max(d, time.Second)
}

// Requests returns what the server saw, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// IssuedTokens returns every access and refresh token issued (for secrets audits).
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Introspect tells who an access token was issued to, as a resource server
// would after validating it. ok is false for tokens the fake never issued.
func (s *Server) Introspect(accessToken string) (info TokenInfo, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok = s.access[accessToken]
	return info, ok
}

// Browse is the simulated browser: username signs in at authorizeURL (made by
// MSAL's AuthCodeURL plus state and PKCE parameters) and the authority
// redirects. It returns that redirect (redirect_uri?code=...&state=...)
// without following it, or an error for an unknown user, client or a
// malformed request.
func (s *Server) Browse(ctx context.Context, authorizeURL, username string) (*url.URL, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return nil, fmt.Errorf("entratest: authorize URL: %w", err)
	}
	if base, _ := url.Parse(s.srv.URL); u.Scheme != base.Scheme || u.Host != base.Host {
		return nil, fmt.Errorf("entratest: authorize URL %s://%s is not this authority", u.Scheme, u.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return nil, fmt.Errorf("entratest: %w", err)
	}
	req.Header.Set(signedInHeader, username)
	c := *s.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entratest: browse: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("entratest: sign-in failed: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, fmt.Errorf("entratest: redirect: %w", err)
	}
	if e := loc.Query().Get("error"); e != "" {
		return loc, fmt.Errorf("entratest: authorize answered %s: %s", e, loc.Query().Get("error_description"))
	}
	return loc, nil
}

// ApproveDevice is the user entering userCode at the verification URL and
// signing in as username.
func (s *Server) ApproveDevice(userCode, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.userCodes[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok {
		return errors.New("entratest: unknown device code")
	}
	g := s.devices[dc]
	if g.expired || time.Now().After(g.expires) {
		return errors.New("entratest: the device code expired")
	}
	u, ok := s.users[strings.ToLower(username)]
	if !ok {
		return fmt.Errorf("entratest: unknown user %q", username)
	}
	cp := *u
	g.user = &cp
	return nil
}

// s256 is the PKCE S256 transform of a verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
