// Package auth finds and stores registry credentials where Podman and
// Docker users already keep them: containers-auth.json(5) files, Docker's
// config.json and the legacy ~/.dockercfg, with the credential helpers
// (docker-credential-NAME) those files name.
//
// Reading follows containers-auth.json(5): the file given by --authfile or
// $REGISTRY_AUTH_FILE alone; otherwise ${XDG_RUNTIME_DIR}/containers/auth.json
// (/run/containers/UID/auth.json without XDG_RUNTIME_DIR), then
// ${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json, then
// $DOCKER_CONFIG/config.json or $HOME/.docker/config.json, then
// $HOME/.dockercfg. The first file that has a credential for the
// repository wins; within a file, a credHelpers entry for the registry
// decides alone, else the most specific auths key (repository, then each
// namespace, then the registry), else the file's credsStore. Keychain
// does this for go-containerregistry (authn.Keychain) and answers
// authn.Anonymous when nothing matches.
//
// Writing (Login, Logout, LogoutAll) changes only the first file of the
// search order, the one podman login writes, or the file given: atomically
// (a temporary file in the same directory, fsync, rename), mode 0600 in a
// directory created 0700, keeping every other key of the file as it was.
// A registry with a credential helper in that file is stored in the
// helper instead.
//
// Boundary: the environment is an input (Env), files are read through
// io/fs, and credential helpers run through the Runner interface, so the
// lookup rules are testable without a home directory or a keychain. The
// package never talks to a registry: whether a credential works is the
// puller's business. Errors name the file (and key) at fault and never
// include a secret.
package auth
