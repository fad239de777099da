"""The Xether API client: one method per route of API.md (the mechanics are in api_base).

Methods return the parsed JSON of the answer (dicts and lists as the server sent them),
list methods a ListResult. IDs are checked before they reach a URL.
"""

from xether_lib.api_base import ApiBase, ListResult, check_artifact_id, check_int_id

__all__ = ["Api", "ListResult", "check_artifact_id", "check_int_id"]


class Api(ApiBase):
    # -- health (outside /api/v1) -------------------------------------------------------------
    def health(self):
        resp = self.transport.request("GET", self.origin + "/health/", api_origin=self.origin)
        return resp.status, resp.json()

    # -- auth -----------------------------------------------------------------------------
    def login(self, email, password):
        return self.call("POST", "/auth/login", form={"username": email, "password": password},
                         auth=False)

    def logout(self, refresh_token):
        return self.call("POST", "/auth/logout", params={"refresh_token": refresh_token}, auth=False)

    def me(self):
        return self.call("GET", "/users/me")

    def create_api_key(self, name, expires_at=None):
        body = {"name": name}
        if expires_at:
            body["expires_at"] = expires_at
        return self.call("POST", "/api-keys/", json_body=body)

    def list_api_keys(self):
        return self.list("/api-keys/")

    def delete_api_key(self, key_id):
        return self.call("DELETE", "/api-keys/%d" % check_int_id(key_id, "API key id"))

    # -- teams and projects -------------------------------------------------------------------
    def list_teams(self, limit=None):
        return self.list("/teams/", limit=limit)

    def get_team(self, team_id):
        return self.call("GET", "/teams/%d" % check_int_id(team_id, "team id"))

    def list_projects(self, team_id=None, limit=None):
        return self.list("/projects/", {"team_id": team_id}, limit=limit)

    def get_project(self, project_id):
        return self.call("GET", "/projects/%d" % check_int_id(project_id, "project id"))

    # -- datasets -------------------------------------------------------------------------
    def list_datasets(self, project_id, search=None, limit=None):
        return self.list("/datasets/", {"project_id": project_id, "search": search}, limit=limit)

    def get_dataset(self, dataset_id):
        return self.call("GET", "/datasets/%d" % check_int_id(dataset_id, "dataset id"))

    def create_dataset(self, body):
        return self.call("POST", "/datasets/", json_body=body)

    def update_dataset(self, dataset_id, body):
        return self.call("PATCH", "/datasets/%d" % check_int_id(dataset_id, "dataset id"),
                         json_body=body, idempotent=True)

    def delete_dataset(self, dataset_id):
        return self.call("DELETE", "/datasets/%d" % check_int_id(dataset_id, "dataset id"))

    def create_dataset_version(self, dataset_id, body):
        return self.call("POST", "/datasets/%d/versions" % check_int_id(dataset_id, "dataset id"),
                         json_body=body)

    def list_dataset_versions(self, dataset_id, limit=None):
        return self.list("/datasets/%d/versions" % check_int_id(dataset_id, "dataset id"), limit=limit)

    # -- uploads --------------------------------------------------------------------------
    def start_upload(self, name, bucket, key, content_type, project_id, expires_in=3600):
        return self.call("POST", "/artifacts/upload", json_body={
            "name": name, "bucket": bucket, "key": key, "content_type": content_type,
            "project_id": project_id, "expires_in_seconds": expires_in})

    def complete_upload(self, artifact_id, size, checksum):
        return self.call("POST", "/artifacts/%s/complete" % check_artifact_id(artifact_id),
                         json_body={"size": size, "checksum": checksum})

    def initiate_multipart(self, name, bucket, key, content_type, project_id):
        return self.call("POST", "/artifacts/multipart/initiate", json_body={
            "name": name, "bucket": bucket, "key": key, "content_type": content_type,
            "project_id": project_id})

    def multipart_part_url(self, artifact_id, upload_id, part_number, expires_in=3600):
        # Asking for a URL changes nothing on the server: safe to retry.
        return self.call("POST", "/artifacts/multipart/part-url", idempotent=True, json_body={
            "artifact_id": artifact_id, "upload_id": upload_id, "part_number": part_number,
            "expires_in": expires_in})

    def complete_multipart(self, artifact_id, upload_id, parts, size, checksum):
        return self.call("POST", "/artifacts/multipart/complete", json_body={
            "artifact_id": artifact_id, "upload_id": upload_id, "parts": parts, "size": size,
            "checksum": checksum})

    def abort_multipart(self, artifact_id, upload_id):
        return self.ext("aborting multipart uploads", "POST", "/artifacts/multipart/abort",
                        json_body={"artifact_id": artifact_id, "upload_id": upload_id},
                        idempotent=True)

    def list_multipart_parts(self, artifact_id, upload_id):
        return self.ext("resuming multipart uploads", "GET", "/artifacts/multipart/parts",
                        params={"artifact_id": artifact_id, "upload_id": upload_id})

    # -- pipelines and executions ---------------------------------------------------------
    def list_pipelines(self, project_id, limit=None):
        return self.list("/pipelines/", {"project_id": project_id}, limit=limit)

    def get_pipeline(self, pipeline_id):
        return self.call("GET", "/pipelines/%d" % check_int_id(pipeline_id, "pipeline id"))

    def execute_pipeline(self, pipeline_id, params):
        """Start a run. Never retried once the request may have reached the server."""
        return self.call("POST", "/pipelines/%d/execute" % check_int_id(pipeline_id, "pipeline id"),
                         json_body=params or {}, idempotent=False)

    def list_executions(self, pipeline_id, limit=None):
        return self.list("/pipelines/%d/executions" % check_int_id(pipeline_id, "pipeline id"),
                         limit=limit)

    def get_execution(self, execution_id):
        return self.ext("execution status", "GET",
                        "/executions/%d" % check_int_id(execution_id, "execution id"))

    def execution_logs(self, execution_id, after=None, limit=None):
        return self.ext("execution logs", "GET",
                        "/executions/%d/logs" % check_int_id(execution_id, "execution id"),
                        params={"after": after, "limit": limit})

    def cancel_execution(self, execution_id, reason=None):
        body = {"reason": reason} if reason else {}
        return self.ext("cancelling runs", "POST",
                        "/executions/%d/cancel" % check_int_id(execution_id, "execution id"),
                        json_body=body, idempotent=True)

    # -- artifacts ------------------------------------------------------------------------
    def list_artifacts(self, project_id=None, pipeline_id=None, execution_id=None, limit=None):
        return self.list("/artifacts/", {"project_id": project_id, "pipeline_id": pipeline_id,
                                         "execution_id": execution_id}, limit=limit)

    def get_artifact(self, artifact_id):
        return self.call("GET", "/artifacts/%s" % check_artifact_id(artifact_id))

    def artifact_download_url(self, artifact_id, expires_in=3600):
        data = self.call("GET", "/artifacts/%s/download" % check_artifact_id(artifact_id),
                         params={"expires_in_seconds": expires_in})
        return data["download_url"]

    def delete_artifact(self, artifact_id):
        return self.call("DELETE", "/artifacts/%s" % check_artifact_id(artifact_id))
