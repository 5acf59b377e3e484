-- Apache DevLake's domain-layer tables that `process import --format devlake` reads, as
-- GORM creates them on PostgreSQL, written from DevLake's model definitions
-- (backend/core/models/domainlayer/{code,devops,ticket,crossdomain}/*.go, commit 420e494b).
-- Every table carries NoPKModel's bookkeeping columns (created_at ... _raw_data_remark).

CREATE TABLE project_mapping (
    project_name varchar(255) NOT NULL,
    "table" varchar(255) NOT NULL,
    row_id varchar(255) NOT NULL,
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text,
    PRIMARY KEY (project_name, "table", row_id)
);

CREATE TABLE pull_requests (
    id varchar(255) PRIMARY KEY,
    base_repo_id text, head_repo_id text,
    status varchar(100), original_status varchar(100),
    title text, description text, url varchar(255),
    author_name varchar(100), author_id varchar(100),
    merged_by_name varchar(100), merged_by_id varchar(100),
    parent_pr_id varchar(100), pull_request_key bigint,
    created_date timestamptz, merged_date timestamptz, closed_date timestamptz,
    type varchar(100), component varchar(100),
    merge_commit_sha varchar(40), head_ref varchar(255), base_ref varchar(255),
    base_commit_sha varchar(40), head_commit_sha varchar(40),
    additions bigint, deletions bigint, is_draft boolean,
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text
);

CREATE TABLE pull_request_commits (
    commit_sha varchar(40) NOT NULL,
    pull_request_id varchar(255) NOT NULL,
    commit_author_name varchar(255), commit_author_email varchar(255),
    commit_authored_date timestamptz,
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text,
    PRIMARY KEY (commit_sha, pull_request_id)
);

CREATE TABLE commits (
    sha varchar(40) PRIMARY KEY,
    additions bigint, deletions bigint, dev_eq bigint, message text,
    author_name varchar(255), author_email varchar(255), authored_date timestamptz,
    author_id varchar(255), committer_name varchar(255), committer_email varchar(255),
    committed_date timestamptz, committer_id varchar(255),
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text
);

CREATE TABLE pull_request_comments (
    id varchar(255) PRIMARY KEY,
    pull_request_id varchar(255), body text, account_id varchar(255),
    created_date timestamptz, commit_sha varchar(255), type varchar(255),
    review_id varchar(255), status varchar(255),
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text
);

CREATE TABLE commits_diffs (
    new_commit_sha varchar(40) NOT NULL,
    old_commit_sha varchar(40) NOT NULL,
    commit_sha varchar(40) NOT NULL,
    sorting_index bigint,
    PRIMARY KEY (new_commit_sha, old_commit_sha, commit_sha)
);

CREATE TABLE cicd_pipelines (
    id varchar(255) PRIMARY KEY,
    name varchar(255), display_title text, url text,
    result varchar(100), status varchar(100),
    original_status varchar(100), original_result varchar(100),
    type varchar(100), duration_sec double precision, queued_duration_sec double precision,
    environment varchar(255),
    created_date timestamptz, queued_date timestamptz,
    started_date timestamptz, finished_date timestamptz,
    cicd_scope_id varchar(255), is_child boolean,
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text
);

CREATE TABLE cicd_tasks (
    id varchar(255) PRIMARY KEY,
    name varchar(255), pipeline_id varchar(255),
    result varchar(100), status varchar(100),
    original_status varchar(100), original_result varchar(100),
    type varchar(100), environment varchar(255),
    duration_sec double precision, queued_duration_sec double precision,
    created_date timestamptz, queued_date timestamptz,
    started_date timestamptz, finished_date timestamptz,
    cicd_scope_id varchar(255),
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text
);

CREATE TABLE cicd_deployment_commits (
    id varchar(255) NOT NULL,
    cicd_scope_id varchar(255), cicd_deployment_id varchar(255),
    name varchar(255), display_title text, url text,
    result varchar(100), status varchar(100),
    original_status varchar(100), original_result varchar(100),
    environment varchar(255), original_environment varchar(255),
    created_date timestamptz, queued_date timestamptz,
    started_date timestamptz, finished_date timestamptz,
    duration_sec double precision, queued_duration_sec double precision,
    commit_sha varchar(255) NOT NULL, commit_msg text, ref_name varchar(255),
    repo_id varchar(255), repo_url text NOT NULL,
    prev_success_deployment_commit_id varchar(255), subtask_name varchar(255),
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text,
    PRIMARY KEY (id, commit_sha)
);

CREATE TABLE issues (
    id varchar(255) PRIMARY KEY,
    url varchar(255), icon_url varchar(255), issue_key varchar(255),
    title text, description text, epic_key varchar(255),
    type varchar(100), original_type varchar(500),
    status varchar(100), original_status varchar(100), story_point double precision,
    resolution_date timestamptz, created_date timestamptz, updated_date timestamptz,
    lead_time_minutes bigint, original_estimate_minutes bigint,
    time_spent_minutes bigint, time_remaining_minutes bigint,
    creator_id varchar(255), creator_name varchar(255),
    assignee_id varchar(255), assignee_name varchar(255),
    parent_issue_id varchar(255), priority varchar(255), severity varchar(255),
    urgency varchar(255), component text, original_project varchar(255),
    is_subtask boolean, due_date timestamptz, fix_versions text,
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text
);

CREATE TABLE board_issues (
    board_id varchar(255) NOT NULL,
    issue_id varchar(255) NOT NULL,
    created_at timestamptz, updated_at timestamptz,
    _raw_data_params varchar(255), _raw_data_table varchar(255),
    _raw_data_id bigint, _raw_data_remark text,
    PRIMARY KEY (board_id, issue_id)
);
