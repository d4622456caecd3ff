package aliyun_test

import (
	"fmt"

	"github.com/tide-live/tide/live/stream/aliyun"
)

func ExampleAuthKey() {
	fmt.Println(aliyun.AuthKey("/live/room42", "aliPushKey123", 1700000000, "0", "0"))
	// Output: 1700000000-0-0-e414361b8d44ca00b80b4e109e2f265b
}
