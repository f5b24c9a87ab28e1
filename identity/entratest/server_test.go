package entratest_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/identity/entratest"
)

const (
	tenant   = "11111111-2222-4333-8444-555555555555"
	client   = "client-1"
	secret   = "s3cret"
	redirect = "https://bot.example.test/auth/callback"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newServer(t *testing.T) *entratest.Server {
	t.Helper()
	s := entratest.New(tenant)
	t.Cleanup(s.Close)
	s.AddClient(entratest.Client{ID: client, Secret: secret})
	s.AddUser(entratest.User{OID: "oid-alice", Username: "alice@contoso.test", Email: "alice@contoso.test"})
	s.AddUser(entratest.User{OID: "oid-eve", Username: "eve@fabrikam.test", TenantID: "99999999-0000-4000-8000-000000000000"})
	return s
}

func authorizeURL(s *entratest.Server, clientID string) string {
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope":          {"https://api.securitycenter.microsoft.com/Machine.Read openid profile offline_access"},
		"state":          {"st-1"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	return s.URL() + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

// post sends a form to the token endpoint and decodes the JSON answer.
func post(t *testing.T, s *entratest.Server, endpoint string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL()+"/"+tenant+"/oauth2/v2.0/"+endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s answered non-JSON: %v", endpoint, err)
	}
	return resp.StatusCode, body
}

func codeFor(t *testing.T, s *entratest.Server, user string) string {
	t.Helper()
	loc, err := s.Browse(context.Background(), authorizeURL(s, client), user)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("state") != "st-1" || !strings.HasPrefix(loc.String(), redirect+"?") {
		t.Fatalf("redirect = %s", loc)
	}
	return loc.Query().Get("code")
}

func codeForm(code, v string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {client}, "client_secret": {secret},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {v}, "client_info": {"1"},
		"scope": {"https://api.securitycenter.microsoft.com/Machine.Read openid profile offline_access"}}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	if strings.ContainsAny(seg, "=+/") {
		t.Fatalf("%q is not base64url without padding", seg)
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOpenIDConfiguration(t *testing.T) {
	s := newServer(t)
	resp, err := s.Client().Get(s.URL() + "/" + strings.ToUpper(tenant) + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint"} {
		if v, _ := doc[k].(string); !strings.HasPrefix(v, s.URL()+"/") {
			t.Errorf("%s = %v, want under %s", k, doc[k], s.URL())
		}
	}
	bad, err := s.Client().Get(s.URL() + "/not-a-tenant/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Fatalf("unknown tenant: status %d, want 400", bad.StatusCode)
	}
}

func TestAuthCodeRedemption(t *testing.T) {
	s := newServer(t)
	cases := []struct {
		name       string
		form       func(code string) url.Values
		wantStatus int
		wantErr    string
	}{
		{"right verifier", func(c string) url.Values { return codeForm(c, verifier) }, 200, ""},
		{"wrong verifier", func(c string) url.Values { return codeForm(c, verifier+"x") }, 400, "invalid_grant"},
		{"no verifier", func(c string) url.Values { f := codeForm(c, verifier); f.Del("code_verifier"); return f }, 400, "invalid_grant"},
		{"other redirect_uri", func(c string) url.Values {
			f := codeForm(c, verifier)
			f.Set("redirect_uri", "https://evil.test/cb")
			return f
		}, 400, "invalid_grant"},
		{"no client secret", func(c string) url.Values { f := codeForm(c, verifier); f.Del("client_secret"); return f }, 401, "invalid_client"},
		{"wrong client secret", func(c string) url.Values { f := codeForm(c, verifier); f.Set("client_secret", "nope"); return f }, 401, "invalid_client"},
		{"unknown client", func(c string) url.Values { f := codeForm(c, verifier); f.Set("client_id", "other"); return f }, 400, "unauthorized_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, s, "token", c.form(codeFor(t, s, "alice@contoso.test")))
			if status != c.wantStatus || (c.wantErr != "" && body["error"] != c.wantErr) {
				t.Fatalf("status %d error %v (%v), want %d %q", status, body["error"], body["error_description"], c.wantStatus, c.wantErr)
			}
			if c.wantErr != "" {
				if d, _ := body["error_description"].(string); !strings.HasPrefix(d, "AADSTS") {
					t.Errorf("error_description %q lacks the AADSTS code", d)
				}
				return
			}
			for _, k := range []string{"access_token", "refresh_token", "id_token", "client_info", "scope"} {
				if v, _ := body[k].(string); v == "" {
					t.Errorf("token response lacks %s", k)
				}
			}
			if body["expires_in"] != float64(3600) {
				t.Errorf("expires_in = %v", body["expires_in"])
			}
			if sc := body["scope"].(string); !strings.Contains(sc, "Machine.Read") || strings.Contains(sc, "offline_access") {
				t.Errorf("scope echo = %q", sc)
			}
			ci := decodeSegment(t, body["client_info"].(string))
			if ci["uid"] != "oid-alice" || ci["utid"] != tenant {
				t.Errorf("client_info = %v", ci)
			}
			id := decodeSegment(t, strings.Split(body["id_token"].(string), ".")[1])
			if id["oid"] != "oid-alice" || id["tid"] != tenant || id["preferred_username"] != "alice@contoso.test" || id["sub"] == "" || id["aud"] != client {
				t.Errorf("id_token claims = %v", id)
			}
		})
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	s := newServer(t)
	code := codeFor(t, s, "alice@contoso.test")
	if status, body := post(t, s, "token", codeForm(code, verifier)); status != 200 {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	if status, body := post(t, s, "token", codeForm(code, verifier)); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("second redemption: %d %v, want invalid_grant", status, body["error"])
	}
}

func TestRefreshAndRevocation(t *testing.T) {
	s := newServer(t)
	_, body := post(t, s, "token", codeForm(codeFor(t, s, "alice@contoso.test"), verifier))
	rt := body["refresh_token"].(string)
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "client_secret": {secret},
		"refresh_token": {rt}, "scope": {"https://api.securitycenter.microsoft.com/Machine.Read openid offline_access"}}
	status, fresh := post(t, s, "token", form)
	if status != 200 || fresh["access_token"] == body["access_token"] || fresh["refresh_token"] == rt {
		t.Fatalf("refresh: %d, want new access and refresh tokens", status)
	}
	noSecret := url.Values{}
	for k, v := range form {
		noSecret[k] = v
	}
	noSecret.Del("client_secret")
	if status, b := post(t, s, "token", noSecret); status != 401 || b["error"] != "invalid_client" {
		t.Fatalf("confidential refresh without secret: %d %v", status, b["error"])
	}
	s.RevokeRefreshTokens("alice@contoso.test")
	status, b := post(t, s, "token", form)
	if d, _ := b["error_description"].(string); status != 400 || b["error"] != "invalid_grant" || !strings.HasPrefix(d, "AADSTS700082") {
		t.Fatalf("revoked: %d %v %v", status, b["error"], b["error_description"])
	}

	issued := s.IssuedTokens()
	if len(issued) != 4 { // two access and two refresh tokens
		t.Fatalf("%d tokens recorded, want 4", len(issued))
	}
	if info, ok := s.Introspect(fresh["access_token"].(string)); !ok || info.User.Username != "alice@contoso.test" || info.ClientID != client {
		t.Fatalf("Introspect = %+v, %v", info, ok)
	}
}

func TestForeignTenantUserGetsTheirTid(t *testing.T) {
	s := newServer(t)
	_, body := post(t, s, "token", codeForm(codeFor(t, s, "eve@fabrikam.test"), verifier))
	id := decodeSegment(t, strings.Split(body["id_token"].(string), ".")[1])
	if id["tid"] != "99999999-0000-4000-8000-000000000000" {
		t.Fatalf("tid = %v", id["tid"])
	}
}

func TestBrowseRefusals(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	cases := []struct{ name, url, user string }{
		{"unknown user", authorizeURL(s, client), "nobody@contoso.test"},
		{"unknown client", authorizeURL(s, "other-client"), "alice@contoso.test"},
		{"another host", strings.Replace(authorizeURL(s, client), s.URL(), "https://login.microsoftonline.com", 1), "alice@contoso.test"},
	}
	for _, c := range cases {
		if loc, err := s.Browse(ctx, c.url, c.user); err == nil {
			t.Errorf("%s: Browse succeeded (%s)", c.name, loc)
		}
	}
}

func TestDeviceCodeGrant(t *testing.T) {
	s := newServer(t)
	scope := "https://api.securitycenter.microsoft.com/Machine.Read openid profile offline_access"
	status, dc := post(t, s, "devicecode", url.Values{"client_id": {client}, "scope": {scope}})
	if status != 200 || dc["user_code"] == "" || dc["verification_uri"] == "" || dc["expires_in"] != float64(900) {
		t.Fatalf("devicecode: %d %v", status, dc)
	}
	poll := url.Values{"grant_type": {"device_code"}, "client_id": {client}, "device_code": {dc["device_code"].(string)}, "scope": {scope}}
	if status, b := post(t, s, "token", poll); status != 400 || b["error"] != "authorization_pending" {
		t.Fatalf("before approval: %d %v", status, b["error"])
	}
	if err := s.ApproveDevice("WRONGCODE", "alice@contoso.test"); err == nil {
		t.Fatal("approved an unknown code")
	}
	if err := s.ApproveDevice(dc["user_code"].(string), "alice@contoso.test"); err != nil {
		t.Fatal(err)
	}
	if status, b := post(t, s, "token", poll); status != 200 || b["access_token"] == "" {
		t.Fatalf("after approval: %d %v", status, b["error"])
	}

	_, dc2 := post(t, s, "devicecode", url.Values{"client_id": {client}, "scope": {scope}})
	s.ExpireDeviceCodes()
	poll.Set("device_code", dc2["device_code"].(string))
	if status, b := post(t, s, "token", poll); status != 400 || b["error"] != "expired_token" {
		t.Fatalf("expired: %d %v", status, b["error"])
	}
}

func TestRequestsHoldNoSecrets(t *testing.T) {
	s := newServer(t)
	post(t, s, "token", codeForm(codeFor(t, s, "alice@contoso.test"), verifier))
	raw, _ := json.Marshal(s.Requests())
	for _, secretish := range append(s.IssuedTokens(), secret, verifier) {
		if strings.Contains(string(raw), secretish) {
			t.Fatalf("Requests() holds a secret: %.10s...", secretish)
		}
	}
	var sawCode bool
	for _, r := range s.Requests() {
		if r.GrantType == "authorization_code" && r.ClientSecret && r.CodeVerifier && r.Status == 200 && r.ClientID == client {
			sawCode = true
		}
	}
	if !sawCode {
		t.Fatalf("the code redemption was not recorded: %+v", s.Requests())
	}
}

func TestWriteCACert(t *testing.T) {
	s := newServer(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := s.WriteCACert(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(b), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("ca.pem = %.40q, %v", b, err)
	}
	doc := s.URL() + "/" + tenant + "/v2.0/.well-known/openid-configuration"
	if _, err := (&http.Client{Transport: &http.Transport{}}).Get(doc); err == nil {
		t.Fatal("a client without the certificate trusted the fake")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("ca.pem holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(doc)
	if err != nil {
		t.Fatalf("a client trusting ca.pem: %v", err)
	}
	resp.Body.Close()
}
