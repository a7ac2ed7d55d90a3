package dbfunction

import (
	"fmt"
	"strings"
)

// ProxyDBUserARN returns the resource ARN that rds-db:connect needs to let
// an IAM identity log in through an RDS Proxy as dbUser:
//
//	arn:aws:rds:<region>:<account>:db-proxy:prx-<id>  →
//	arn:aws:rds-db:<region>:<account>:dbuser:prx-<id>/<dbUser>
//
// IAM authentication through a proxy is authorised against the proxy's
// resource id, not the DB instance's, so the ARN is derived from the proxy.
func ProxyDBUserARN(proxyARN, dbUser string) (string, error) {
	parts := strings.Split(proxyARN, ":")
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "rds" || parts[5] != "db-proxy" {
		return "", fmt.Errorf("dbfunction: %q is not an RDS Proxy ARN (arn:<partition>:rds:<region>:<account>:db-proxy:prx-<id>)", proxyARN)
	}
	partition, region, account, id := parts[1], parts[3], parts[4], parts[6]
	if partition == "" || region == "" || account == "" || !strings.HasPrefix(id, "prx-") || len(id) == len("prx-") {
		return "", fmt.Errorf("dbfunction: RDS Proxy ARN %q lacks a partition, region, account or prx- id", proxyARN)
	}
	if dbUser == "" || strings.ContainsAny(dbUser, "/*?:") {
		return "", fmt.Errorf("dbfunction: database user %q must be a non-empty name without the characters / * ? or a colon", dbUser)
	}
	return fmt.Sprintf("arn:%s:rds-db:%s:%s:dbuser:%s/%s", partition, region, account, id, dbUser), nil
}
