package activation

import (
	"strings"
	"testing"
)

func TestIDNames(t *testing.T) {
	users, err := UserNames(strings.NewReader("root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\ntoor:x:0:0::/:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"))
	if err != nil || len(users) != 2 || users[0] != "root" || users[1000] != "app" {
		t.Errorf("UserNames: %v %v", users, err)
	}
	groups, err := GroupNames(strings.NewReader("root:x:0:\nstaff:x:50:app,other\n"))
	if err != nil || len(groups) != 2 || groups[50] != "staff" {
		t.Errorf("GroupNames: %v %v", groups, err)
	}
}
