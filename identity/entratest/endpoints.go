package entratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// signedInHeader carries the simulated browser's signed-in user to authorize.
const signedInHeader = "X-Entratest-User"

const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// oidcScopes are answered by the id_token and refresh token, not echoed as
// resource scopes.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// serveHTTP routes /{tenant}/v2.0/.well-known/openid-configuration and
// /{tenant}/oauth2/v2.0/{authorize,token,devicecode}.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &Request{Method: r.Method, Path: r.URL.Path, Endpoint: "other"}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		rec.Status = rw.status
		rec.Error = rw.oauthErr
		s.mu.Lock()
		s.requests = append(s.requests, *rec)
		s.mu.Unlock()
	}()

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(rw, r)
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	if !s.knownTenant(tenant) {
		rw.oauthError(http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	}
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		rec.Endpoint = "openid-configuration"
		s.openIDConfiguration(rw, r, tenant)
	case "oauth2/v2.0/authorize":
		rec.Endpoint = "authorize"
		s.authorize(rw, r, rec)
	case "oauth2/v2.0/token":
		rec.Endpoint = "token"
		if !s.parsePost(rw, r, rec) {
			return
		}
		s.token(rw, r, rec)
	case "oauth2/v2.0/devicecode":
		rec.Endpoint = "devicecode"
		if !s.parsePost(rw, r, rec) {
			return
		}
		s.deviceCode(rw, r)
	default:
		http.NotFound(rw, r)
	}
}

// knownTenant accepts the server's tenant (MSAL lower-cases it) and the
// multi-tenant aliases.
func (s *Server) knownTenant(t string) bool {
	switch strings.ToLower(t) {
	case strings.ToLower(s.tenant), "common", "organizations":
		return true
	}
	return false
}

func (s *Server) openIDConfiguration(w *statusWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	base := s.srv.URL + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.srv.URL + "/" + s.tenant + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"tenant_region_scope":                   "EU",
	})
}

// parsePost reads a form POST and records its client, grant and scopes.
func (s *Server) parsePost(w *statusWriter, r *http.Request, rec *Request) bool {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	if err := r.ParseForm(); err != nil {
		w.oauthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must be form encoded.")
		return false
	}
	rec.ClientID = r.PostForm.Get("client_id")
	rec.GrantType = r.PostForm.Get("grant_type")
	rec.Scopes = strings.Fields(r.PostForm.Get("scope"))
	rec.ClientSecret = r.PostForm.Get("client_secret") != ""
	rec.CodeVerifier = r.PostForm.Get("code_verifier") != ""
	if rec.ClientID == "" {
		w.oauthError(http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'.")
		return false
	}
	return true
}

// authorize is where the browser goes. The simulated browser (Browse) says
// who signed in with signedInHeader; the answer is the redirect with a code.
func (s *Server) authorize(w *statusWriter, r *http.Request, rec *Request) {
	q := r.URL.Query()
	rec.ClientID = q.Get("client_id")
	rec.Scopes = strings.Fields(q.Get("scope"))
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		w.oauthError(http.StatusBadRequest, "invalid_request", 50011, "The redirect URI is missing or not absolute.")
		return
	}
	if q.Get("response_type") != "code" {
		w.oauthError(http.StatusBadRequest, "unsupported_response_type", 700054, "response_type must be code.")
		return
	}
	method := q.Get("code_challenge_method")
	challenge := q.Get("code_challenge")
	if challenge != "" && method == "" {
		method = "plain"
	}
	if challenge != "" && method != "S256" && method != "plain" {
		w.oauthError(http.StatusBadRequest, "invalid_request", 501491, "Invalid code_challenge_method.")
		return
	}
	username := r.Header.Get(signedInHeader)
	if username == "" {
		http.Error(w, "entratest: nobody is signed in; drive this endpoint with Server.Browse", http.StatusUnauthorized)
		return
	}

	s.mu.Lock()
	if !s.clientKnown(rec.ClientID) {
		s.mu.Unlock()
		w.oauthError(http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory.", rec.ClientID))
		return
	}
	u, ok := s.users[strings.ToLower(username)]
	if !ok {
		s.mu.Unlock()
		w.oauthError(http.StatusBadRequest, "invalid_user", 50034, "The user account does not exist in this directory.")
		return
	}
	code := randomToken(32)
	s.codes[code] = &authCode{
		clientID: rec.ClientID, redirectURI: redirect.String(), challenge: challenge, method: method,
		user: *u, scopes: rec.Scopes, expires: time.Now().Add(s.codeTTL),
	}
	s.mu.Unlock()

	v := redirect.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	v.Set("session_state", newGUID())
	redirect.RawQuery = v.Encode()
	w.Header().Set("Location", redirect.String())
	w.WriteHeader(http.StatusFound)
}

// clientKnown: any client is welcome until one is registered. Call with s.mu held.
func (s *Server) clientKnown(id string) bool {
	if len(s.clients) == 0 {
		return true
	}
	_, ok := s.clients[id]
	return ok
}

// clientAuth checks the client at the token endpoint. Call with s.mu held.
func (s *Server) clientAuth(w *statusWriter, r *http.Request) bool {
	id := r.PostForm.Get("client_id")
	if !s.clientKnown(id) {
		w.oauthError(http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory.", id))
		return false
	}
	c, ok := s.clients[id]
	secret := r.PostForm.Get("client_secret")
	if ok && secret != "" && secret != c.Secret {
		w.oauthError(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided.")
		return false
	}
	return true
}

// needSecret refuses a confidential grant made without the client's secret
// (a web redirect's code, or a refresh token issued to a confidential client).
func needSecret(w *statusWriter, f url.Values) bool {
	if f.Get("client_secret") != "" {
		return true
	}
	w.oauthError(http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	return false
}

func (s *Server) token(w *statusWriter, r *http.Request, rec *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.clientAuth(w, r) {
		return
	}
	f := r.PostForm
	switch rec.GrantType {
	case "authorization_code":
		s.redeemCode(w, f, rec)
	case "refresh_token":
		s.redeemRefresh(w, f, rec)
	case deviceCodeGrant, "device_code": // MSAL sends the short form, which Entra accepts
		s.redeemDevice(w, f, rec)
	default:
		w.oauthError(http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", rec.GrantType))
	}
}

// redeemCode: the code is single use, bound to its client and redirect_uri,
// and to its PKCE challenge. Call with s.mu held.
func (s *Server) redeemCode(w *statusWriter, f url.Values, rec *Request) {
	code := f.Get("code")
	if s.usedCodes[code] {
		w.oauthError(http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return
	}
	c, ok := s.codes[code]
	if !ok {
		w.oauthError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	}
	delete(s.codes, code)
	s.usedCodes[code] = true
	switch {
	case time.Now().After(c.expires):
		w.oauthError(http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.")
		return
	case c.clientID != rec.ClientID:
		w.oauthError(http.StatusBadRequest, "invalid_grant", 70002, "The authorization code was issued to another client.")
		return
	case c.redirectURI != f.Get("redirect_uri"):
		w.oauthError(http.StatusBadRequest, "invalid_grant", 50011, "The redirect URI specified in the request does not match the redirect URI of the authorization request.")
		return
	case !pkceOK(c.challenge, c.method, f.Get("code_verifier")):
		w.oauthError(http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		return
	case s.clients[rec.ClientID].Secret != "" && !needSecret(w, f):
		return
	}
	s.issue(w, c.user, rec.ClientID, rec.Scopes, f)
}

func pkceOK(challenge, method, verifier string) bool {
	switch {
	case challenge == "":
		return true // no PKCE in the authorization request
	case verifier == "":
		return false
	case method == "S256":
		return s256(verifier) == challenge
	default:
		return verifier == challenge
	}
}

// redeemRefresh: refresh tokens rotate (a new one each time) and the old one
// stays valid until it expires or is revoked, as in Entra. Call with s.mu held.
func (s *Server) redeemRefresh(w *statusWriter, f url.Values, rec *Request) {
	g, ok := s.refresh[f.Get("refresh_token")]
	switch {
	case !ok:
		w.oauthError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case g.revoked:
		w.oauthError(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity or was revoked. The user must sign in again.")
		return
	case time.Now().After(g.expires):
		w.oauthError(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity.")
		return
	case g.clientID != rec.ClientID:
		w.oauthError(http.StatusBadRequest, "invalid_grant", 70000, "The refresh token was issued to another client.")
		return
	case g.confidential && !needSecret(w, f):
		return
	}
	s.issue(w, g.user, rec.ClientID, rec.Scopes, f)
}

// redeemDevice answers a device-code poll. Call with s.mu held.
func (s *Server) redeemDevice(w *statusWriter, f url.Values, rec *Request) {
	dc := f.Get("device_code")
	g, ok := s.devices[dc]
	switch {
	case !ok:
		w.oauthError(http.StatusBadRequest, "invalid_grant", 70019, "Verification code expired or unknown.")
		return
	case g.expired || time.Now().After(g.expires):
		w.oauthError(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
		return
	case g.clientID != rec.ClientID:
		w.oauthError(http.StatusBadRequest, "invalid_grant", 70002, "The device code was issued to another client.")
		return
	case g.user == nil:
		w.oauthError(http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		return
	}
	delete(s.devices, dc)
	delete(s.userCodes, g.userCode)
	s.issue(w, *g.user, rec.ClientID, rec.Scopes, f)
}

func (s *Server) deviceCode(w *statusWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PostForm.Get("client_id")
	if !s.clientKnown(id) {
		w.oauthError(http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory.", id))
		return
	}
	dc, uc := randomToken(32), userCode()
	ttl := s.deviceTTL
	s.devices[dc] = &deviceGrant{userCode: uc, clientID: id, expires: time.Now().Add(ttl)}
	s.userCodes[uc] = dc
	verify := s.srv.URL + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        uc,
		"device_code":      dc,
		"verification_uri": verify,
		"expires_in":       int(ttl / time.Second),
		"interval":         5,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, uc),
	})
}

// issue answers a token response for u. Call with s.mu held.
func (s *Server) issue(w *statusWriter, u User, clientID string, requested []string, f url.Values) {
	clientInfo, confidential := f.Get("client_info") == "1", f.Get("client_secret") != ""
	now := time.Now()
	ttl := s.accessTTL
	var resource []string
	hasOpenID, hasOffline := false, false
	for _, sc := range requested {
		switch strings.ToLower(sc) {
		case "openid":
			hasOpenID = true
		case "offline_access":
			hasOffline = true
		}
		if !oidcScopes[strings.ToLower(sc)] {
			resource = append(resource, sc)
		}
	}
	at := s.accessToken(u, clientID, resource, now, ttl)
	s.issued = append(s.issued, at)
	s.access[at] = TokenInfo{User: u, ClientID: clientID, Scopes: resource, ExpiresAt: now.Add(ttl)}

	// Entra echoes the granted scopes, OpenID ones included, but not offline_access.
	var echo []string
	for _, sc := range requested {
		if !strings.EqualFold(sc, "offline_access") {
			echo = append(echo, sc)
		}
	}
	body := map[string]any{
		"token_type":     "Bearer",
		"scope":          strings.Join(echo, " "),
		"expires_in":     int(ttl / time.Second),
		"ext_expires_in": int(ttl / time.Second),
		"access_token":   at,
	}
	if hasOffline {
		rt := "1.AQ" + randomToken(48)
		s.issued = append(s.issued, rt)
		s.refresh[rt] = &refreshGrant{user: u, clientID: clientID, expires: now.Add(s.refreshTTL), confidential: confidential}
		body["refresh_token"] = rt
	}
	if hasOpenID {
		body["id_token"] = s.idToken(u, clientID, now)
	}
	if clientInfo {
		body["client_info"] = clientInfoValue(u)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// statusWriter remembers the status and OAuth error for the request record.
type statusWriter struct {
	http.ResponseWriter
	status   int
	oauthErr string
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// oauthError answers in Entra's error shape.
func (w *statusWriter) oauthError(status int, code string, aadsts int, desc string) {
	w.oauthErr = code
	now := time.Now().UTC()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, newGUID(), newGUID(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          newGUID(),
		"correlation_id":    newGUID(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
