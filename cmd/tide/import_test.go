package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/ingest/testenv"
)

type importEnv struct {
	dsn, brokers, topic, dir string
}

func newImportEnv(t *testing.T) importEnv {
	t.Helper()
	dsn := pgtest.Database(t)
	brokers := testenv.Kafka(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	topic := "tide-test-import-" + hex.EncodeToString(b[:])
	kc, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(kc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = adm.DeleteTopic(context.Background(), topic)
		kc.Close()
	})
	return importEnv{dsn: dsn, brokers: strings.Join(brokers, ","), topic: topic, dir: t.TempDir()}
}

func (e importEnv) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e importEnv) run(t *testing.T, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"--postgres", e.dsn, "--brokers", e.brokers, "--topic", e.topic}, extra...)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err = importProducts(context.Background(), log, args, &out, &errb)
	return out.String(), errb.String(), err
}

const goodLines = `{"id":"p00001","merchant_id":"m01","title":"法式碎花连衣裙","brand":"无品牌","category":"女装/连衣裙","price_fen":29900,"sales":1234,"description":"夏季","attrs":{"颜色":["黑色","白色"],"尺码":"M"}}
{"id":"p00002","merchant_id":"m01","title":"运动鞋","brand":"耐克/Nike","category":"运动鞋/跑步鞋","price_fen":59900,"sales":10}
{"id":"p00003","merchant_id":"m02","title":"保温杯","category":"家居/杯具","price_fen":5900}
`

func TestImportProductsCommand(t *testing.T) {
	env := newImportEnv(t)
	good := env.file(t, "good.jsonl", goodLines)

	out, errs, err := env.run(t, good)
	if err != nil {
		t.Fatalf("good file: %v\n%s", err, errs)
	}
	if !strings.Contains(out, "3 created, 0 updated, 0 unchanged, 0 rejected") || !strings.Contains(out, "published 3 outbox events") {
		t.Errorf("stdout:\n%s", out)
	}

	out, _, err = env.run(t, good)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 3 unchanged, 0 rejected") || strings.Contains(out, "published") {
		t.Errorf("re-run: %v\n%s", err, out)
	}

	mixed := env.file(t, "mixed.jsonl", goodLines+
		`{"id":"p00004","merchant_id":"m01","title":"","price_fen":100}`+"\n"+
		`{"id":"p00002","merchant_id":"m01","title":"运动鞋 新款","brand":"耐克/Nike","category":"运动鞋/跑步鞋","price_fen":59900,"sales":10}`+"\n"+
		`{"id":"p00005","merchant_id":"m01","title":"x","price_fen":-1}`+"\n")
	out, errs, err = env.run(t, mixed)
	if !errors.Is(err, errRejected) {
		t.Fatalf("mixed file: err = %v, want rejected", err)
	}
	if !strings.Contains(out, "0 created, 1 updated, 2 unchanged, 2 rejected") || !strings.Contains(out, "published 1 outbox events") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, want := range []string{mixed + ":4: (id p00004) title: missing", mixed + ":6: (id p00005) price_fen: -1 is negative"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	csv := env.file(t, "more.csv", "id,merchant_id,title,price_fen,attr:颜色\np00010,m03,毛衣,19900,红|蓝\np00011,m03,围巾,,\n")
	out, errs, err = env.run(t, "--dry-run", csv)
	if !errors.Is(err, errRejected) || !strings.Contains(out, "dry run") || !strings.Contains(out, "1 created") ||
		!strings.Contains(errs, csv+":3: (id p00011) price_fen: missing") {
		t.Errorf("csv dry run: %v\n%s\n%s", err, out, errs)
	}
	out, _, _ = env.run(t, csv)
	if !strings.Contains(out, "1 created") {
		t.Errorf("csv import after the dry run: %s", out)
	}

	_, _, err = env.run(t, "--merchant", "m09", good)
	if !errors.Is(err, errRejected) {
		t.Errorf("lines of other merchants were not rejected: %v", err)
	}
}

func TestImportExitStatus(t *testing.T) {
	env := newImportEnv(t)
	bad := env.file(t, "bad.jsonl", `{"id":"x"}`+"\n")
	t.Setenv("TIDE_POSTGRES_URL", env.dsn)
	t.Setenv("TIDE_KAFKA_BROKERS", env.brokers)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if code := run(context.Background(), log, []string{"import", "products", "--topic", env.topic, bad}); code != 1 {
		t.Errorf("exit status %d for a rejected line, want 1", code)
	}
	good := env.file(t, "good.jsonl", goodLines)
	if code := run(context.Background(), log, []string{"import", "products", "--topic", env.topic, good}); code != 0 {
		t.Errorf("exit status %d for a good file, want 0", code)
	}
	if code := run(context.Background(), log, []string{"import", "products", filepath.Join(env.dir, "missing.jsonl")}); code != 1 {
		t.Errorf("exit status %d for a missing file, want 1", code)
	}
}
