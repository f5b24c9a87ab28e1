package mde

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Package is an open download (an investigation package, or a live response
// result's .gz): reading it streams the body while computing SHA-256 and the
// byte count, and fails past the maximum size. A body that ends before its
// Content-Length, or a cut connection, is an error from Read, never a clean
// EOF. Not safe for concurrent use.
type Package struct {
	body io.ReadCloser
	sha  hash.Hash
	n    int64
	size int64
	max  int64
	err  error // sticky: once failed, every Read fails the same way
}

// OpenPackage starts downloading a link: a package link, or a live response
// ResultURL. No bearer token is sent (the link's query string is the
// credential). A link, or a redirect, that is not https (http on loopback
// only) on an allowed download host is refused with KindRefusedURL before it
// is requested. A link blob storage refuses as expired (403
// AuthenticationFailed) is KindLinkExpired: ask Defender for a new one.
func (c *Client) OpenPackage(ctx context.Context, u PackageURL) (*Package, error) {
	const ep = "download"
	if u.IsZero() {
		return nil, &Error{Kind: KindInvalidInput, Endpoint: ep, Message: "no download link"}
	}
	if err := checkPackageURL(u.u, c.downloadHosts); err != nil {
		return nil, &Error{Kind: KindRefusedURL, Endpoint: ep, Message: err.Error()}
	}
	resp, err := withRetries(ctx, c, ep, true, func(ctx context.Context) (*http.Response, error) {
		return c.openOnce(ctx, u.u)
	})
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > c.maxPackage {
		resp.Body.Close()
		return nil, &Error{Kind: KindTooLarge, Endpoint: ep, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("the file is %d bytes, more than the maximum of %d", resp.ContentLength, c.maxPackage)}
	}
	return &Package{body: resp.Body, sha: sha256.New(), size: resp.ContentLength, max: c.maxPackage}, nil
}

func (c *Client) openOnce(ctx context.Context, u *url.URL) (*http.Response, error) {
	const ep = "download"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Kind: KindRefusedURL, Endpoint: ep, Message: "download link is not a valid request URL"}
	}
	// The exact bytes, so Content-Length and the hash are the file's.
	req.Header.Set("Accept-Encoding", "identity")
	start := time.Now()
	resp, err := c.download.Do(req)
	if err != nil {
		c.seen(ep, 0, time.Since(start))
		var refused *Error
		if errors.As(err, &refused) { // from checkRedirect
			return nil, refused
		}
		return nil, &transportError{stripURL(err)}
	}
	c.seen(ep, resp.StatusCode, time.Since(start))
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := httpError(ep, resp.StatusCode, resp.Header, data)
		switch code := storageErrorCode(resp.Header, data); {
		case e.Kind == KindForbidden && expiredSAS(code):
			e.Kind, e.Code = KindLinkExpired, code
			e.Message = "blob storage refused the download link (" + code + "): it has expired or is no longer valid; ask Defender for a new one"
		case e.Kind == KindForbidden || e.Kind == KindUnauthorized:
			// Not Defender's role check: the link itself was refused.
			e.Message = "the download link was refused (expired or already invalid); ask for a new one"
		}
		return nil, e
	}
	return resp, nil
}

// expiredSAS reports whether code is Azure Storage's answer to an expired
// SAS: Azure says AuthenticationFailed; the Azurite emulator says
// AuthorizationFailure.
func expiredSAS(code string) bool {
	return code == "AuthenticationFailed" || code == "AuthorizationFailure"
}

// storageErrorCode is Azure Storage's error code: the x-ms-error-code header,
// else the <Code> of its XML error body ("" for anything else).
func storageErrorCode(h http.Header, body []byte) string {
	if c := strings.TrimSpace(h.Get("x-ms-error-code")); c != "" {
		return c
	}
	var e struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
	}
	if xml.Unmarshal(body, &e) != nil {
		return ""
	}
	return strings.TrimSpace(e.Code)
}

// checkRedirect follows a redirect only to where the link itself could point.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return &Error{Kind: KindRefusedURL, Endpoint: "download", Message: "too many redirects"}
	}
	if err := checkPackageURL(req.URL, c.downloadHosts); err != nil {
		return &Error{Kind: KindRefusedURL, Endpoint: "download", Message: "redirect refused: " + err.Error()}
	}
	return nil
}

// stripURL drops the *url.Error wrapper, whose text holds the link and its credential.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Read reads the body through the hash and the byte counter.
func (p *Package) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.body.Read(b)
	if n > 0 {
		if p.n+int64(n) > p.max {
			p.err = &Error{Kind: KindTooLarge, Endpoint: "download",
				Message: fmt.Sprintf("the file is larger than the maximum of %d bytes", p.max)}
			return 0, p.err
		}
		p.n += int64(n)
		if p.sha != nil {
			p.sha.Write(b[:n])
		}
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF) && (p.size < 0 || p.n == p.size):
		return n, io.EOF
	case errors.Is(err, io.EOF):
		err = io.ErrUnexpectedEOF
	}
	p.err = fmt.Errorf("%w: %w", &Error{Kind: KindServer, Endpoint: "download",
		Message: fmt.Sprintf("download cut short after %d bytes", p.n)}, stripURL(err))
	return n, p.err
}

// Size is the announced Content-Length, or -1 when unknown.
func (p *Package) Size() int64 { return p.size }

// N is the number of bytes read so far.
func (p *Package) N() int64 { return p.n }

// Sum is the hex SHA-256 of what was read; the file's hash once Read gave
// io.EOF. Empty after SkipHash.
func (p *Package) Sum() string {
	if p.sha == nil {
		return ""
	}
	return hex.EncodeToString(p.sha.Sum(nil))
}

// SkipHash stops hashing, before the first Read, for a caller whose writer
// hashes the same bytes itself (the evidence store): SHA-256 is most of a
// download's CPU, and twice is the difference between keeping up with the
// disk and not.
func (p *Package) SkipHash() {
	if p.n == 0 {
		p.sha = nil
	}
}

// Close ends the download.
func (p *Package) Close() error { return p.body.Close() }
