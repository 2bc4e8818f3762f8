package node

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/httpblob"
	"dstor/shared/proof"
)

// emptyProbe is the identity CID of no bytes, which trustless-gateway
// clients fetch to check that a gateway answers.
const emptyProbe = "bafkqaaa"

func (n *Node) httpHandler() http.Handler {
	mux := n.httpMux()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := n.cachedBlob(r); b != nil {
			n.serveCached(w, r, b)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cachedBlob returns the cached blob a GET or HEAD of /ipfs/{cid} asks
// for, found by the path's CID text as it stands: only canonical CIDs are
// cached, so a hit is exactly the blob serveBlob would find. This is the
// hot path, kept free of routing, parsing and allocation.
func (n *Node) cachedBlob(r *http.Request) *httpblob.Blob {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/ipfs/")
	if !ok || name == emptyProbe {
		return nil
	}
	return n.cache.lookup(name)
}

// serveCached answers from a cached blob.
func (n *Node) serveCached(w http.ResponseWriter, r *http.Request, b *httpblob.Blob) {
	n.inFlight.Add(1)
	n.countServed(b.CID(), b.Serve(w, r, &n.date))
	n.inFlight.Add(-1)
}

func (n *Node) httpMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ipfs/{cid}", n.serveBlob)
	mux.HandleFunc("HEAD /ipfs/{cid}", n.serveBlob)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpblob.Error(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (n *Node) serveBlob(w http.ResponseWriter, r *http.Request) {
	n.inFlight.Add(1)
	defer n.inFlight.Add(-1)
	if r.PathValue("cid") == emptyProbe {
		n.serveProbe(w, r)
		return
	}
	id, err := cid.Parse(r.PathValue("cid"))
	if err != nil {
		httpblob.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if b, ok := n.cache.get(id); ok {
		n.countServed(id, b.Serve(w, r, &n.date))
		return
	}
	if _, err := httpblob.Format(r); err != nil {
		httpblob.Error(w, http.StatusBadRequest, err.Error())
		return // before any disk read or peer fetch
	}
	if size, ok := n.store.Has(id); ok {
		src, err := n.local(r.Context(), id, size, r.Method == http.MethodGet)
		if err == nil {
			if err = n.serve(w, r, id, size, src); err == nil {
				return
			}
		}
		if !errors.Is(err, proof.ErrMismatch) && !errors.Is(err, store.ErrNotFound) {
			n.log.Warn("read failed", "cid", id, "err", err)
			httpblob.Error(w, http.StatusInternalServerError, "read blob: "+err.Error())
			return
		}
		// The copy here is bad (and now quarantined) or just went: a peer's
		// copy serves instead, below.
	}
	t, err := n.transfer(id)
	if err == nil {
		var size int64
		if size, err = t.waitSize(r.Context()); err == nil {
			err = n.serve(w, r, id, size, &transferSource{n: n, t: t})
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		httpblob.Error(w, http.StatusNotFound, "blob "+id.String()+" is not stored in the network")
	case errors.Is(err, context.Canceled):
	default:
		httpblob.Error(w, http.StatusBadGateway, "blob unavailable: "+err.Error())
	}
}

// serve answers from src, counting the bytes that leave.
func (n *Node) serve(w http.ResponseWriter, r *http.Request, id cid.CID, size int64, src httpblob.Source) error {
	n.date.Set(w.Header())
	sent, err := httpblob.Serve(w, r, id, size, src)
	n.countServed(id, sent)
	return err
}

// serveProbe answers the empty identity CID: a 200 with no bytes.
func (n *Node) serveProbe(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("ETag", `"`+emptyProbe+`"`)
	h.Set("Cache-Control", httpblob.CacheControl)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// hostPort is the host:port of an https:// URL.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}
