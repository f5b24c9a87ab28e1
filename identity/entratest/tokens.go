package entratest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// mdeResource is the audience of MDE access tokens (reference/mde-api.md).
const mdeResource = "https://api.securitycenter.microsoft.com"

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// userCode is a 9-character code like Entra's (no 0/O/1/I to avoid confusion).
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// unsignedJWT encodes claims as a JWT with alg "none": MSAL only decodes the
// payload, and a resource fake can read who the token is for.
func unsignedJWT(claims map[string]any) string {
	head, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "none"})
	body, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body) + "."
}

// accessToken is a v1-style MDE access token; its jti makes every issue unique.
func (s *Server) accessToken(u User, clientID string, scopes []string, now time.Time, ttl time.Duration) string {
	aud := mdeResource
	var scp []string
	for _, sc := range scopes {
		if i := strings.LastIndex(sc, "/"); i > 0 {
			aud, sc = sc[:i], sc[i+1:]
		}
		scp = append(scp, sc)
	}
	return unsignedJWT(map[string]any{
		"aud":   aud,
		"iss":   fmt.Sprintf("https://sts.windows.net/%s/", u.TenantID),
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(ttl).Unix(),
		"appid": clientID,
		"oid":   u.OID,
		"tid":   u.TenantID,
		"upn":   u.Username,
		"name":  u.Name,
		"scp":   strings.Join(scp, " "),
		"ver":   "1.0",
		"jti":   randomToken(16),
	})
}

// idToken is a v2.0 id_token with the claims MSAL reads.
func (s *Server) idToken(u User, clientID string, now time.Time) string {
	sub := sha256.Sum256([]byte(u.OID + "|" + clientID)) // pairwise, as Entra's sub
	claims := map[string]any{
		"aud":                clientID,
		"iss":                s.srv.URL + "/" + u.TenantID + "/v2.0",
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"oid":                u.OID,
		"tid":                u.TenantID,
		"sub":                base64.RawURLEncoding.EncodeToString(sub[:]),
		"preferred_username": u.Username,
		"ver":                "2.0",
	}
	if u.Email != "" {
		claims["email"] = u.Email
	}
	if u.Name != "" {
		claims["name"] = u.Name
	}
	return unsignedJWT(claims)
}

// clientInfoValue is base64url without padding of {"uid","utid"}.
func clientInfoValue(u User) string {
	b, _ := json.Marshal(map[string]string{"uid": u.OID, "utid": u.TenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}
