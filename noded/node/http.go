package node

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"

	"dstor/noded/store"
	"dstor/shared/cid"
	"dstor/shared/httpblob"
)

func (n *Node) httpHandler() http.Handler {
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
	id, err := cid.Parse(r.PathValue("cid"))
	if err != nil {
		httpblob.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if data, ok := n.cache.get(id); ok {
		httpblob.Serve(w, r, id, int64(len(data)), memOpener(data))
		return
	}
	f, size, err := n.store.Open(id)
	if errors.Is(err, store.ErrNotFound) {
		if err = n.fetch(r.Context(), id); err == nil {
			f, size, err = n.store.Open(id)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		httpblob.Error(w, http.StatusNotFound, "blob "+id.String()+" is not stored in the network")
		return
	} else if err != nil {
		n.log.Warn("read failed", "cid", id, "err", err)
		httpblob.Error(w, http.StatusBadGateway, "blob unavailable: "+err.Error())
		return
	}
	defer f.Close()
	if n.cache.fits(size) && r.Method == http.MethodGet {
		data := make([]byte, size)
		if _, err := io.ReadFull(f, data); err != nil {
			httpblob.Error(w, http.StatusInternalServerError, "read blob: "+err.Error())
			return
		}
		n.cache.add(id, data)
		httpblob.Serve(w, r, id, size, memOpener(data))
		return
	}
	httpblob.Serve(w, r, id, size, fileOpener(f))
}

func memOpener(data []byte) httpblob.Opener {
	return func(off, length int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data[off : off+length])), nil
	}
}

// fileOpener reads a range of f; the caller closes f.
func fileOpener(f *os.File) httpblob.Opener {
	return func(off, length int64) (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(f, off, length)), nil
	}
}
