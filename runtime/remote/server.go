package remote

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configure an embedded JetStream server.
type ServerOptions struct {
	Host     string // default 127.0.0.1
	Port     int    // 0: 4222; -1: any free port
	StoreDir string // where JetStream keeps its data (required)
}

// Server is an embedded nats-server with JetStream, for a team trying
// jsrt-script on one machine and for tests; production uses its own
// cluster.
type Server struct{ s *server.Server }

// StartServer starts a server and waits until it accepts connections.
func StartServer(o ServerOptions) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("the JetStream store directory is required")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 4222
	}
	// A port already taken fails at once, not after the server's wait.
	if o.Port > 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
		if err != nil {
			return nil, fmt.Errorf("cannot start the NATS server: %w", err)
		}
		l.Close()
	}
	s, err := server.NewServer(&server.Options{Host: o.Host, Port: o.Port, JetStream: true, StoreDir: o.StoreDir,
		NoSigs: true, NoLog: true, ServerName: "jsrt-script"})
	if err != nil {
		return nil, fmt.Errorf("cannot start the NATS server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("the NATS server did not start listening on %s:%d", o.Host, o.Port)
	}
	return &Server{s: s}, nil
}

// URL is where clients connect.
func (s *Server) URL() string { return s.s.ClientURL() }

// Port is the port it listens on.
func (s *Server) Port() int {
	if a, ok := s.s.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Shutdown stops the server and waits until it is gone.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
