package mdetest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// resultContainer is the blob container of live response results.
const resultContainer = "/investigation/"

// liveResult is a GetFile result as blob storage keeps it: the gzip of the file.
type liveResult struct {
	gz     []byte
	sha256 string
}

// newLiveResult compresses content; the gzip header carries no name or
// time, so the same content always gives the same bytes.
func newLiveResult(content []byte) liveResult {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(content) // a bytes.Buffer does not fail
	_ = zw.Close()
	sum := sha256.Sum256(b.Bytes())
	return liveResult{gz: b.Bytes(), sha256: hex.EncodeToString(sum[:])}
}

// resultLink is an issued SAS-style link to a result.
type resultLink struct {
	actionID string
	blob     string // path on the blob host
	se       string // the signed expiry as issued
	expiry   time.Time
}

// SetLiveResponseResult sets the file an action's GetFile returns (served
// gzip-compressed); false when the action is unknown. Sessions start with
// a small text naming the path.
func (s *Server) SetLiveResponseResult(actionID string, content []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.actions[actionID]; !ok {
		return false
	}
	s.live.results[actionID] = newLiveResult(content)
	return true
}

// LiveResponseResultSHA256 is the hex SHA-256 of the .gz served for an
// action's result ("" when it has none).
func (s *Server) LiveResponseResultSHA256(actionID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live.results[actionID].sha256
}

// ExpireNextResultLink makes the next result link expired from the moment
// it is issued.
func (s *Server) ExpireNextResultLink() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live.expireNext = true
}

// ResultLinkCalls returns the arrival time of every
// GetLiveResponseResultDownloadLink call that passed authentication and the
// rate limit, whatever its answer.
func (s *Server) ResultLinkCalls() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.live.linkCalls...)
}

// IssuedResultSignatures returns the signature (sig) of every result link
// handed out: credentials, for audits that they never reach logs or storage.
func (s *Server) IssuedResultSignatures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.live.signatures...)
}

// BlobURL is the base URL of the fake blob storage (another loopback port).
func (s *Server) BlobURL() string { return s.blob.URL }

// resultLink answers GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)
// with a new SAS-style link to the fake blob storage, valid ResultLinkTTL.
func (s *Server) resultLink(w http.ResponseWriter, r *http.Request, _ string) {
	at := s.opts.Now()
	idx, ok := resultIndex(r.PathValue("call"))
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "No such route: "+r.Method+" "+r.URL.Path)
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live.linkCalls = append(s.live.linkCalls, at)
	st, ok := s.actions[id]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "NotFound", "Machine action was not found")
		return
	case st.a.Type != mde.TypeLiveResponse:
		writeError(w, http.StatusBadRequest, "BadRequest", "Machine action is not of type LiveResponse")
		return
	case idx >= len(st.a.Commands):
		writeError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("The action has no command at index %d", idx))
		return
	case st.a.Commands[idx].CommandStatus != mde.CommandCompleted:
		writeError(w, http.StatusNotFound, "NotFound", "Live response result is not available: the command has not completed")
		return
	}
	if _, ok := s.live.results[id]; !ok {
		s.live.results[id] = newLiveResult([]byte("mdetest live response GetFile result\r\n"))
	}
	expiry := at.Add(s.opts.ResultLinkTTL)
	if s.live.expireNext {
		expiry, s.live.expireNext = at, false
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	l := resultLink{actionID: id, blob: resultContainer + id + "_" + strconv.Itoa(idx) + ".gz",
		se: expiry.UTC().Format(time.RFC3339), expiry: expiry}
	sig := base64.StdEncoding.EncodeToString(b[:]) // with + / =, escaped in the query as Azure's are
	s.live.links[sig] = l
	s.live.signatures = append(s.live.signatures, sig)
	q := url.Values{"sv": {"2019-12-12"}, "sr": {"b"}, "sp": {"r"}, "se": {l.se}, "sig": {sig}}
	writeJSON(w, http.StatusOK, map[string]string{"@odata.context": odataBase + "Edm.String", "value": s.blob.URL + l.blob + "?" + q.Encode()})
}

// resultIndex reads N from "GetLiveResponseResultDownloadLink(index=N)".
func resultIndex(call string) (int, bool) {
	n, isLink := strings.CutPrefix(call, "GetLiveResponseResultDownloadLink(index=")
	n, closed := strings.CutSuffix(n, ")")
	if !isLink || !closed || n == "" || strings.Trim(n, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// blobMux is the fake blob storage: results under resultContainer, each
// readable with an unexpired link's query; Azure's XML errors otherwise.
func (s *Server) blobMux() *http.ServeMux {
	mux := http.NewServeMux()
	s.route(mux, "GET "+resultContainer+"{blob}", EndpointDownload, s.blobDownload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, http.StatusNotFound, s.opts.Now())
		s.writeStorageError(w, http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.", "")
	})
	return mux
}

func (s *Server) blobDownload(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	sig := q.Get("sig")
	now := s.opts.Now()
	s.mu.Lock()
	l, ok := s.live.links[sig]
	res := s.live.results[l.actionID]
	s.mu.Unlock()
	switch {
	case sig == "": // anonymous access to a private container
		s.writeStorageError(w, http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.", "")
		return
	case !ok || l.blob != r.URL.Path || q.Get("se") != l.se || q.Get("sp") != "r":
		s.writeStorageError(w, http.StatusForbidden, "AuthenticationFailed",
			"Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
			"Signature did not match.")
		return
	case !now.Before(l.expiry):
		s.writeStorageError(w, http.StatusForbidden, "AuthenticationFailed",
			"Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
			fmt.Sprintf("Signed expiry time [%s] must be after current time [%s]", l.expiry.UTC().Format(http.TimeFormat), now.UTC().Format(http.TimeFormat)))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("x-ms-blob-type", "BlockBlob")
	if !s.opts.NoContentLength {
		w.Header().Set("Content-Length", strconv.Itoa(len(res.gz)))
	}
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if s.opts.NoContentLength && flusher != nil {
		flusher.Flush() // headers out before any body: chunked encoding
	}
	if cut := s.takeCut(); cut >= 0 {
		_, _ = io.CopyN(w, bytes.NewReader(res.gz), cut)
		if flusher != nil {
			flusher.Flush()
		}
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	_, _ = w.Write(res.gz)
}

// writeStorageError writes Azure Storage's error: the x-ms-error-code
// header and an XML body.
func (s *Server) writeStorageError(w http.ResponseWriter, status int, code, message, detail string) {
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
		Detail  string   `xml:"AuthenticationErrorDetail,omitempty"`
	}{Code: code, Message: message + "\nRequestId:" + newGUID() + "\nTime:" + s.opts.Now().UTC().Format(time.RFC3339Nano), Detail: detail})
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}
