"""Users: read a profile. Standard library only."""

PROFILES = {str(i): {"id": str(i), "name": f"user-{i}", "plan": "pro" if i % 3 == 0 else "free"} for i in range(100)}


def get_user(path, body):
    profile = PROFILES.get(path.get("id", ""))
    return (200, profile) if profile else (404, {"message": "no such user"})


ROUTES = {("GET", "/users/{id}"): get_user}
