package ingest

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of the ingester's configuration.
const (
	DefaultGroup          = "tide-ingest"
	DefaultDatabase       = "tide"
	DefaultBatchRows      = 100_000
	DefaultBatchWait      = 250 * time.Millisecond
	DefaultPartitions     = 8
	DefaultBackoffMin     = 100 * time.Millisecond
	DefaultBackoffMax     = 10 * time.Second
	DefaultSessionTimeout = 10 * time.Second
)

// Config is the ingester's configuration. Build it with Options passed to
// New; the zero value of every field means its default.
type Config struct {
	Brokers         []string      // Kafka seed brokers; default 127.0.0.1:19092
	Topic           string        // events topic; default DefaultEventsTopic
	DeadLetterTopic string        // dead-letter topic; default DefaultDeadLetterTopic
	Group           string        // consumer group; default DefaultGroup
	InstanceID      string        // static group membership (KIP-345): a restart with the same id takes over at once
	Partitions      int           // partitions of topics New creates when missing; default DefaultPartitions
	ClickHouseAddr  string        // native-protocol address; default 127.0.0.1:19000
	Database        string        // ClickHouse database; default DefaultDatabase
	BatchRows       int           // rows per insert at most; default DefaultBatchRows
	BatchWait       time.Duration // a batch is inserted at the latest this long after its first record; default DefaultBatchWait
	BackoffMin      time.Duration // first retry delay when ClickHouse fails; default DefaultBackoffMin
	BackoffMax      time.Duration // retry delay cap; default DefaultBackoffMax
	SessionTimeout  time.Duration // group session timeout; default DefaultSessionTimeout
	Limits          Limits        // validation limits; default DefaultLimits()
	Registerer      prometheus.Registerer
	Logger          *slog.Logger
	KafkaOptions    []kgo.Opt // extra franz-go options (e.g. for kfake or TLS)
}

// Option sets one field of Config.
type Option func(*Config)

// WithBrokers sets the Kafka seed brokers.
func WithBrokers(brokers ...string) Option { return func(c *Config) { c.Brokers = brokers } }

// WithTopic sets the events topic to consume.
func WithTopic(topic string) Option { return func(c *Config) { c.Topic = topic } }

// WithDeadLetterTopic sets the topic that records failing decoding or
// validation are produced to.
func WithDeadLetterTopic(topic string) Option { return func(c *Config) { c.DeadLetterTopic = topic } }

// WithGroup sets the Kafka consumer group.
func WithGroup(group string) Option { return func(c *Config) { c.Group = group } }

// WithInstanceID makes the ingester a static group member: restarted with the
// same id, it gets its partitions back without a rebalance.
func WithInstanceID(id string) Option { return func(c *Config) { c.InstanceID = id } }

// WithPartitions sets the partition count of the topics New creates when they
// do not exist yet.
func WithPartitions(n int) Option { return func(c *Config) { c.Partitions = n } }

// WithClickHouse sets the ClickHouse native-protocol address and database.
func WithClickHouse(addr, database string) Option {
	return func(c *Config) { c.ClickHouseAddr, c.Database = addr, database }
}

// WithBatch bounds a batch by rows and by the time since its first record.
func WithBatch(rows int, maxWait time.Duration) Option {
	return func(c *Config) { c.BatchRows, c.BatchWait = rows, maxWait }
}

// WithBackoff sets the exponential retry delay when ClickHouse fails.
func WithBackoff(min, max time.Duration) Option {
	return func(c *Config) { c.BackoffMin, c.BackoffMax = min, max }
}

// WithSessionTimeout sets the consumer group session timeout.
func WithSessionTimeout(d time.Duration) Option { return func(c *Config) { c.SessionTimeout = d } }

// WithLimits sets the validation limits.
func WithLimits(l Limits) Option { return func(c *Config) { c.Limits = l } }

// WithRegisterer registers the ingester's Prometheus metrics with r.
func WithRegisterer(r prometheus.Registerer) Option { return func(c *Config) { c.Registerer = r } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithKafkaOptions adds franz-go client options, e.g. kgo.SeedBrokers of a
// kfake cluster or TLS dialing.
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return func(c *Config) { c.KafkaOptions = append(c.KafkaOptions, opts...) }
}

// NewConfig returns the configuration that opts make, with defaults filled in.
func NewConfig(opts ...Option) Config {
	var c Config
	for _, o := range opts {
		o(&c)
	}
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:19092"}
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Topic, DefaultEventsTopic)
	def(&c.DeadLetterTopic, DefaultDeadLetterTopic)
	def(&c.Group, DefaultGroup)
	def(&c.ClickHouseAddr, "127.0.0.1:19000")
	def(&c.Database, DefaultDatabase)
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.BatchRows <= 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchWait <= 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits()
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
