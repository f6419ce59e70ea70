# ruff: noqa: E501  (tool definitions are data: one line per description)
"""Builds the hard tool-search set's catalogue, benchmarks/data/search-hard/tools.jsonl.

Real tools/lists (the twelve recorded in benchmarks/data/catalogues/popular-12.json and server-everything's, recorded
in benchmarks/data/search-hard/everything-tools.json) plus a few hundred definitions written the way the MCP servers
of those products define them (names, descriptions and input schemas in their style).

Parameters are written compactly: `"name!: description"` is required, `name[]` an array of strings, `name#` a number,
`name?` a boolean, `name{}` an object; anything else is a string.

    python benchmarks/search_hard_catalogue.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OUT = HERE / "data" / "search-hard" / "tools.jsonl"
POPULAR = HERE / "data" / "catalogues" / "popular-12.json"
EVERYTHING = HERE / "data" / "search-hard" / "everything-tools.json"

Spec = tuple[str, str, str]  # name, description, parameters

SERVERS: dict[str, list[Spec]] = {
    "github": [
        (
            "create_issue",
            "Create a new issue in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; title!: Issue title; body: Issue body content; "
            "assignees[]: Usernames to assign to this issue; labels[]: Labels to apply to this issue; milestone#: Milestone number",
        ),
        (
            "get_issue",
            "Get details of a specific issue in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; issue_number!#: The number of the issue",
        ),
        (
            "list_issues",
            "List issues in a GitHub repository with filtering options.",
            "owner!: Repository owner; repo!: Repository name; state: Filter by state (open, closed, all); labels[]: Filter by labels; "
            "sort: Sort by (created, updated, comments); since: Filter by date (ISO 8601 timestamp); per_page#: Results per page",
        ),
        (
            "update_issue",
            "Update an existing issue in a GitHub repository (title, body, state, labels, assignees).",
            "owner!: Repository owner; repo!: Repository name; issue_number!#: Issue number to update; title: New title; body: New description; "
            "state: New state (open or closed); labels[]: New labels; assignees[]: New assignees",
        ),
        (
            "add_issue_comment",
            "Add a comment to a specific issue in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; issue_number!#: Issue number to comment on; body!: Comment content",
        ),
        (
            "search_issues",
            "Search for issues and pull requests across GitHub repositories using GitHub search syntax.",
            "q!: Search query using GitHub issues search syntax; sort: Sort field; order: Sort order (asc, desc); per_page#: Results per page",
        ),
        (
            "create_pull_request",
            "Create a new pull request in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; title!: Pull request title; body: Pull request description; "
            "head!: The name of the branch where your changes are implemented; base!: The name of the branch you want the changes pulled into; "
            "draft?: Whether to create the pull request as a draft",
        ),
        (
            "get_pull_request",
            "Get details of a specific pull request.",
            "owner!: Repository owner; repo!: Repository name; pull_number!#: Pull request number",
        ),
        (
            "list_pull_requests",
            "List and filter repository pull requests.",
            "owner!: Repository owner; repo!: Repository name; state: Filter by state (open, closed, all); head: Filter by head user or branch; "
            "base: Filter by base branch; sort: Sort by (created, updated, popularity)",
        ),
        (
            "get_pull_request_files",
            "Get the list of files changed in a pull request.",
            "owner!: Repository owner; repo!: Repository name; pull_number!#: Pull request number",
        ),
        (
            "get_pull_request_status",
            "Get the combined status of all status checks (CI) for a pull request.",
            "owner!: Repository owner; repo!: Repository name; pull_number!#: Pull request number",
        ),
        (
            "create_pull_request_review",
            "Create a review on a pull request: approve, request changes or comment.",
            "owner!: Repository owner; repo!: Repository name; pull_number!#: Pull request number; body!: The body text of the review; "
            "event!: The review action to perform (APPROVE, REQUEST_CHANGES, COMMENT); comments[]: Line comments",
        ),
        (
            "merge_pull_request",
            "Merge a pull request.",
            "owner!: Repository owner; repo!: Repository name; pull_number!#: Pull request number; commit_title: Title for the merge commit; "
            "merge_method: Merge method to use (merge, squash, rebase)",
        ),
        (
            "get_file_contents",
            "Get the contents of a file or directory from a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; path!: Path to the file or directory; branch: Branch to get contents from",
        ),
        (
            "create_or_update_file",
            "Create or update a single file in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; path!: Path where to create/update the file; content!: Content of the file; "
            "message!: Commit message; branch!: Branch to create/update the file in; sha: SHA of the file being replaced",
        ),
        (
            "push_files",
            "Push multiple files to a GitHub repository in a single commit.",
            "owner!: Repository owner; repo!: Repository name; branch!: Branch to push to; files!{}: Array of files to push (path and content); "
            "message!: Commit message",
        ),
        (
            "search_repositories",
            "Search for GitHub repositories.",
            "query!: Search query (see GitHub search syntax); page#: Page number for pagination; perPage#: Number of results per page",
        ),
        (
            "search_code",
            "Search for code across GitHub repositories.",
            "q!: Search query using GitHub code search syntax; sort: Sort field; order: Sort order; per_page#: Results per page",
        ),
        (
            "create_repository",
            "Create a new GitHub repository in your account.",
            "name!: Repository name; description: Repository description; private?: Whether the repository should be private; "
            "autoInit?: Initialize with README.md",
        ),
        (
            "fork_repository",
            "Fork a GitHub repository to your account or specified organization.",
            "owner!: Repository owner; repo!: Repository name; organization: Optional organization to fork to",
        ),
        (
            "create_branch",
            "Create a new branch in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; branch!: Name for the new branch; from_branch: Source branch to create from",
        ),
        (
            "list_commits",
            "Get list of commits of a branch in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; sha: Branch name or commit SHA; page#: Page number; perPage#: Results per page",
        ),
        (
            "list_workflow_runs",
            "List GitHub Actions workflow runs for a repository.",
            "owner!: Repository owner; repo!: Repository name; workflow_id: Workflow file name or id; status: Filter by run status; branch: Filter by branch",
        ),
        (
            "create_release",
            "Create a release for a tag in a GitHub repository.",
            "owner!: Repository owner; repo!: Repository name; tag_name!: The name of the tag; name: Release title; body: Release notes; "
            "prerelease?: Mark as pre-release",
        ),
    ],
    "gitlab": [
        (
            "create_issue",
            "Create a new issue in a GitLab project.",
            "project_id!: Project ID or URL-encoded path; title!: Issue title; description: Issue description; labels[]: Labels",
        ),
        (
            "list_issues",
            "List issues in a GitLab project.",
            "project_id!: Project ID or URL-encoded path; state: opened, closed or all; labels[]: Filter by labels",
        ),
        (
            "create_merge_request",
            "Create a new merge request in a GitLab project.",
            "project_id!: Project ID or URL-encoded path; title!: Merge request title; source_branch!: Branch containing changes; "
            "target_branch!: Branch to merge into; description: Merge request description",
        ),
        (
            "get_merge_request_diffs",
            "Get the changes/diffs of a merge request.",
            "project_id!: Project ID or URL-encoded path; merge_request_iid!: The internal ID of the merge request",
        ),
        (
            "list_pipelines",
            "List CI/CD pipelines in a GitLab project.",
            "project_id!: Project ID or URL-encoded path; status: Filter by status (running, pending, success, failed); ref: Branch or tag",
        ),
        (
            "get_pipeline_job_output",
            "Get the log output of a job in a GitLab CI/CD pipeline.",
            "project_id!: Project ID; job_id!: The ID of the job",
        ),
        (
            "create_project",
            "Create a new GitLab project.",
            "name!: Project name; description: Project description; visibility: private, internal or public",
        ),
        (
            "search_projects",
            "Search for GitLab projects.",
            "search!: Search query; page#: Page number; per_page#: Results per page",
        ),
    ],
    "jira": [
        (
            "create_issue",
            "Create a new Jira issue (story, task, bug or epic) in a project.",
            "project_key!: The key of the Jira project (e.g. PROJ); summary!: Summary/title of the issue; issue_type!: Issue type (Task, Bug, Story, Epic); "
            "description: Issue description; assignee: Assignee account ID or email; priority: Priority name; labels[]: Labels",
        ),
        (
            "get_issue",
            "Get details of a specific Jira issue including its fields, status and comments.",
            "issue_key!: Jira issue key (e.g. PROJ-123); fields: Comma-separated fields to return; expand: Fields to expand",
        ),
        (
            "search",
            "Search Jira issues using JQL (Jira Query Language).",
            "jql!: JQL query string (e.g. 'project = PROJ AND status = \"In Progress\"'); fields: Fields to return; limit#: Maximum number of results",
        ),
        (
            "update_issue",
            "Update fields of an existing Jira issue.",
            "issue_key!: Jira issue key; fields!{}: Fields to update (summary, description, assignee, priority, labels)",
        ),
        (
            "transition_issue",
            "Transition a Jira issue to a new status (e.g. To Do, In Progress, Done).",
            "issue_key!: Jira issue key; transition_id!: ID of the transition to perform; comment: Comment to add during the transition",
        ),
        ("get_transitions", "Get the available status transitions for a Jira issue.", "issue_key!: Jira issue key"),
        (
            "add_comment",
            "Add a comment to a Jira issue.",
            "issue_key!: Jira issue key; comment!: Comment text in Markdown",
        ),
        (
            "add_worklog",
            "Log time spent working on a Jira issue.",
            "issue_key!: Jira issue key; time_spent!: Time spent in Jira format (e.g. 1h 30m); comment: Work description; started: Start time",
        ),
        (
            "get_sprint_issues",
            "Get the issues in a Jira sprint.",
            "sprint_id!: The ID of the sprint; fields: Fields to return",
        ),
        (
            "get_agile_boards",
            "Get Jira agile boards (Scrum or Kanban) by name, project or type.",
            "board_name: Board name filter; project_key: Project key; board_type: scrum or kanban",
        ),
        (
            "create_sprint",
            "Create a new sprint on a Jira board.",
            "board_id!: Board ID; sprint_name!: Name of the sprint; start_date: Start date (ISO 8601); end_date: End date; goal: Sprint goal",
        ),
        (
            "link_issues",
            "Create a link between two Jira issues (blocks, relates to, duplicates).",
            "link_type!: Type of link (Blocks, Relates, Duplicate); inward_issue_key!: Inward issue key; outward_issue_key!: Outward issue key",
        ),
    ],
    "confluence": [
        (
            "search",
            "Search Confluence content using simple terms or CQL.",
            "query!: Search query, simple text or CQL; limit#: Maximum number of results; spaces_filter: Comma-separated space keys",
        ),
        (
            "get_page",
            "Get the content of a specific Confluence page by ID or by title and space.",
            "page_id: Confluence page ID; title: Page title; space_key: Space key; convert_to_markdown?: Return Markdown instead of HTML",
        ),
        (
            "create_page",
            "Create a new Confluence page in a space.",
            "space_key!: The key of the space; title!: Page title; content!: Page content in Markdown; parent_id: Parent page ID",
        ),
        (
            "update_page",
            "Update an existing Confluence page.",
            "page_id!: ID of the page to update; title!: New title; content!: New content in Markdown; version_comment: Comment for this version",
        ),
        (
            "get_page_children",
            "Get the child pages of a Confluence page.",
            "parent_id!: ID of the parent page; limit#: Maximum number of child pages",
        ),
        (
            "add_comment",
            "Add a comment to a Confluence page.",
            "page_id!: ID of the page; content!: Comment content in Markdown",
        ),
    ],
    "linear": [
        (
            "create_issue",
            "Create a new Linear issue in a team.",
            "title!: Issue title; teamId!: Team ID; description: Issue description in Markdown; priority#: Priority (0-4); assigneeId: Assignee user ID",
        ),
        (
            "update_issue",
            "Update an existing Linear issue.",
            "id!: Issue ID; title: New title; description: New description; stateId: New workflow state ID; priority#: New priority",
        ),
        (
            "search_issues",
            "Search Linear issues with flexible filtering.",
            "query: Text to search in title/description; teamId: Filter by team; status: Filter by status name; assigneeId: Filter by assignee; limit#: Max results",
        ),
        (
            "get_user_issues",
            "Get issues assigned to a user (or the authenticated user).",
            "userId: User ID, defaults to the authenticated user; includeArchived?: Include archived issues; limit#: Max results",
        ),
        (
            "add_comment",
            "Add a comment to a Linear issue.",
            "issueId!: ID of the issue; body!: Comment text in Markdown",
        ),
        (
            "list_projects",
            "List projects in the Linear workspace.",
            "teamId: Filter by team; includeArchived?: Include archived projects",
        ),
    ],
    "notion": [
        (
            "search",
            "Search Notion pages and databases by title.",
            "query!: Text to search for in page and database titles; filter{}: Limit to pages or databases; page_size#: Number of results",
        ),
        ("retrieve_page", "Retrieve a Notion page's properties.", "page_id!: The ID of the page"),
        (
            "create_page",
            "Create a new page in Notion, as a child of a page or an entry in a database.",
            "parent!{}: Parent page or database; properties!{}: Page properties, including the title; children[]: Page content as blocks",
        ),
        (
            "update_page_properties",
            "Update the properties of a Notion page or database entry.",
            "page_id!: The ID of the page; properties!{}: Properties to update",
        ),
        (
            "retrieve_block_children",
            "Retrieve the content blocks (children) of a Notion page or block.",
            "block_id!: The ID of the page or block; page_size#: Number of blocks to return",
        ),
        (
            "append_block_children",
            "Append content blocks (paragraphs, headings, to-dos, lists) to a Notion page or block.",
            "block_id!: The ID of the parent page or block; children!{}: Array of block objects to append",
        ),
        (
            "query_database",
            "Query a Notion database with filters and sorts, returning its entries.",
            "database_id!: The ID of the database; filter{}: Filter conditions; sorts[]: Sort order; page_size#: Number of results",
        ),
        (
            "create_database",
            "Create a Notion database as a child of a page.",
            "parent!{}: Parent page; title!: Database title; properties!{}: Property schema of the database",
        ),
        (
            "create_comment",
            "Add a comment to a Notion page.",
            "parent!{}: The page to comment on; rich_text!: Comment text",
        ),
        ("list_users", "List all users in the Notion workspace.", "page_size#: Number of users to return"),
    ],
    "google-drive": [
        (
            "search",
            "Search for files in Google Drive by name or content.",
            "query!: Search query; pageSize#: Number of results; mimeType: Filter by MIME type",
        ),
        (
            "read_file",
            "Read the contents of a Google Drive file; Google Docs are exported as Markdown, Sheets as CSV.",
            "fileId!: ID of the file to read",
        ),
        (
            "create_file",
            "Create a new file in Google Drive.",
            "name!: File name; content!: File content; mimeType: MIME type of the file; parentFolderId: Folder to create the file in",
        ),
        (
            "update_file",
            "Replace the content of an existing Google Drive file.",
            "fileId!: ID of the file; content!: New content",
        ),
        ("create_folder", "Create a folder in Google Drive.", "name!: Folder name; parentFolderId: Parent folder ID"),
        (
            "move_file",
            "Move a file to another Google Drive folder.",
            "fileId!: ID of the file; folderId!: Destination folder ID",
        ),
        (
            "share_file",
            "Share a Google Drive file with a user, a group or anyone with the link.",
            "fileId!: ID of the file; emailAddress: Email of the person to share with; role!: reader, commenter or writer; type!: user, group, domain or anyone",
        ),
        ("delete_file", "Move a Google Drive file to the trash.", "fileId!: ID of the file"),
    ],
    "google-sheets": [
        (
            "read_range",
            "Read values from a range of a Google Sheets spreadsheet.",
            "spreadsheetId!: Spreadsheet ID; range!: A1 notation range (e.g. Sheet1!A1:D10)",
        ),
        (
            "write_range",
            "Write values to a range of a Google Sheets spreadsheet.",
            "spreadsheetId!: Spreadsheet ID; range!: A1 notation range; values!{}: 2D array of values",
        ),
        (
            "append_rows",
            "Append rows to the end of a table in a Google Sheets spreadsheet.",
            "spreadsheetId!: Spreadsheet ID; range!: Table range; values!{}: Rows to append",
        ),
        (
            "create_spreadsheet",
            "Create a new Google Sheets spreadsheet.",
            "title!: Spreadsheet title; sheets[]: Names of the sheets to create",
        ),
    ],
    "google-calendar": [
        ("list_calendars", "List all calendars available to the user.", ""),
        (
            "list_events",
            "List events from a calendar within a time range.",
            "calendarId!: Calendar ID ('primary' for the main calendar); timeMin: Start of the time range (RFC3339); timeMax: End of the time range (RFC3339); "
            "maxResults#: Maximum number of events",
        ),
        (
            "search_events",
            "Search calendar events by text.",
            "calendarId!: Calendar ID; query!: Free text search terms; timeMin: Start of range; timeMax: End of range",
        ),
        (
            "create_event",
            "Create a new calendar event, optionally inviting attendees.",
            "calendarId!: Calendar ID; summary!: Title of the event; start!: Start time (RFC3339); end!: End time (RFC3339); "
            "description: Event description; location: Event location; attendees[]: Email addresses of attendees; timeZone: IANA time zone",
        ),
        (
            "update_event",
            "Update an existing calendar event (time, title, attendees, location).",
            "calendarId!: Calendar ID; eventId!: Event ID; summary: New title; start: New start time; end: New end time; attendees[]: New attendee list",
        ),
        (
            "delete_event",
            "Delete a calendar event.",
            "calendarId!: Calendar ID; eventId!: Event ID; sendUpdates: Whether to notify attendees (all, none)",
        ),
        (
            "get_freebusy",
            "Query free/busy information for calendars over a time range to find open slots.",
            "calendars[]: Calendar IDs or email addresses; timeMin!: Start of range; timeMax!: End of range",
        ),
    ],
    "gmail": [
        (
            "send_email",
            "Send a new email.",
            "to[]: Recipient email addresses; subject!: Email subject; body!: Email body (plain text or HTML); cc[]: CC recipients; bcc[]: BCC recipients; "
            "attachments[]: Paths of files to attach",
        ),
        (
            "draft_email",
            "Create a draft email without sending it.",
            "to[]: Recipient email addresses; subject!: Email subject; body!: Email body",
        ),
        (
            "search_emails",
            "Search emails using Gmail search syntax (from:, to:, subject:, has:attachment, after:, is:unread).",
            "query!: Gmail search query; maxResults#: Maximum number of results",
        ),
        (
            "read_email",
            "Retrieve the content of a specific email, including headers, body and attachment list.",
            "messageId!: ID of the email message",
        ),
        (
            "modify_email",
            "Modify email labels: archive, mark as read/unread, star, move to a label.",
            "messageId!: ID of the email message; addLabelIds[]: Label IDs to add; removeLabelIds[]: Label IDs to remove",
        ),
        ("delete_email", "Permanently delete an email.", "messageId!: ID of the email message"),
        ("list_labels", "List all Gmail labels (system and user).", ""),
        ("create_label", "Create a new Gmail label.", "name!: Label name"),
        (
            "download_attachment",
            "Download an email attachment to a local file.",
            "messageId!: ID of the email message; attachmentId!: ID of the attachment; savePath: Where to save the file",
        ),
        (
            "reply_email",
            "Reply to an email in its thread.",
            "messageId!: ID of the message to reply to; body!: Reply body; replyAll?: Reply to all recipients",
        ),
    ],
    "discord": [
        (
            "send_message",
            "Send a message to a Discord channel.",
            "channelId!: Discord channel ID; content!: Message content",
        ),
        (
            "read_messages",
            "Read recent messages from a Discord channel.",
            "channelId!: Discord channel ID; limit#: Number of messages to fetch",
        ),
        (
            "add_reaction",
            "Add an emoji reaction to a Discord message.",
            "channelId!: Channel ID; messageId!: Message ID; emoji!: Emoji to react with",
        ),
        ("list_servers", "List the Discord servers (guilds) the bot is a member of.", ""),
        (
            "create_thread",
            "Create a thread from a message in a Discord channel.",
            "channelId!: Channel ID; messageId: Message to start the thread from; name!: Thread name",
        ),
    ],
    "teams": [
        (
            "send_channel_message",
            "Send a message to a Microsoft Teams channel.",
            "teamId!: Team ID; channelId!: Channel ID; content!: Message content (HTML or text)",
        ),
        ("list_channels", "List the channels of a Microsoft Teams team.", "teamId!: Team ID"),
        ("list_chats", "List the user's Microsoft Teams chats.", "top#: Number of chats"),
        (
            "send_chat_message",
            "Send a message in a Microsoft Teams one-on-one or group chat.",
            "chatId!: Chat ID; content!: Message content",
        ),
    ],
    "twilio": [
        (
            "send_sms",
            "Send an SMS text message to a phone number.",
            "to!: Destination phone number in E.164 format; body!: Text of the message; from: Twilio phone number to send from",
        ),
        (
            "make_call",
            "Place an outbound phone call that plays a message.",
            "to!: Phone number to call; message!: Text to speak when the call is answered",
        ),
        (
            "list_messages",
            "List sent and received SMS messages.",
            "to: Filter by recipient; from: Filter by sender; limit#: Max results",
        ),
    ],
    "playwright": [
        ("browser_navigate", "Navigate to a URL.", "url!: The URL to navigate to"),
        ("browser_navigate_back", "Go back to the previous page.", ""),
        ("browser_snapshot", "Capture accessibility snapshot of the current page, this is better than screenshot.", ""),
        (
            "browser_click",
            "Perform click on a web page.",
            "element!: Human-readable element description used to obtain permission to interact with the element; ref!: Exact target element reference from the page snapshot; "
            "doubleClick?: Whether to perform a double click; button: Button to click, defaults to left",
        ),
        (
            "browser_type",
            "Type text into editable element.",
            "element!: Human-readable element description; ref!: Exact target element reference from the page snapshot; text!: Text to type into the element; "
            "submit?: Whether to submit entered text (press Enter after)",
        ),
        ("browser_fill_form", "Fill multiple form fields.", "fields!{}: Fields to fill in"),
        (
            "browser_select_option",
            "Select an option in a dropdown.",
            "element!: Human-readable element description; ref!: Exact target element reference; values[]: Array of values to select",
        ),
        (
            "browser_press_key",
            "Press a key on the keyboard.",
            "key!: Name of the key to press or a character to generate, such as `ArrowLeft` or `a`",
        ),
        (
            "browser_take_screenshot",
            "Take a screenshot of the current page. You can't perform actions based on the screenshot, use browser_snapshot for actions.",
            "type: Image format for the screenshot (png, jpeg); filename: File name to save the screenshot to; fullPage?: Take a screenshot of the full scrollable page",
        ),
        ("browser_pdf_save", "Save page as PDF.", "filename: File name to save the pdf to"),
        (
            "browser_wait_for",
            "Wait for text to appear or disappear or a specified time to pass.",
            "time#: The time to wait in seconds; text: The text to wait for; textGone: The text to wait for to disappear",
        ),
        (
            "browser_tabs",
            "List, create, close, or select a browser tab.",
            "action!: Operation to perform (list, new, close, select); index#: Tab index",
        ),
        ("browser_console_messages", "Returns all console messages.", ""),
        ("browser_network_requests", "Returns all network requests since loading the page.", ""),
        ("browser_file_upload", "Upload one or multiple files.", "paths[]: The absolute paths to the files to upload"),
        (
            "browser_evaluate",
            "Evaluate JavaScript expression on page or element.",
            "function!: () => { /* code */ } or (element) => { /* code */ } when element is provided; element: Element description; ref: Element reference",
        ),
        ("browser_close", "Close the page.", ""),
    ],
    "kubernetes": [
        (
            "pods_list",
            "List all the Kubernetes pods in the current cluster from all namespaces.",
            "labelSelector: Kubernetes label selector",
        ),
        (
            "pods_list_in_namespace",
            "List all the Kubernetes pods in the specified namespace in the current cluster.",
            "namespace!: Namespace to list pods from; labelSelector: Kubernetes label selector",
        ),
        (
            "pods_get",
            "Get a Kubernetes Pod in the current or provided namespace with the provided name.",
            "name!: Name of the Pod; namespace: Namespace to get the Pod from",
        ),
        (
            "pods_log",
            "Get the logs of a Kubernetes Pod in the current or provided namespace with the provided name.",
            "name!: Name of the Pod to get the logs from; namespace: Namespace; container: Name of the Pod container; previous?: Return previous terminated container logs",
        ),
        (
            "pods_delete",
            "Delete a Kubernetes Pod in the current or provided namespace with the provided name.",
            "name!: Name of the Pod to delete; namespace: Namespace to delete the Pod from",
        ),
        (
            "pods_exec",
            "Execute a command in a Kubernetes Pod in the current or provided namespace with the provided name and command.",
            "name!: Name of the Pod; namespace: Namespace; command[]: Command to execute; container: Container name",
        ),
        (
            "pods_top",
            "List the resource consumption (CPU and memory) as recorded by the Kubernetes Metrics Server for pods.",
            "namespace: Namespace; name: Pod name; all_namespaces?: Across all namespaces",
        ),
        (
            "resources_list",
            "List Kubernetes resources and objects in the current cluster by providing their apiVersion and kind.",
            "apiVersion!: apiVersion of the resources (e.g. apps/v1); kind!: kind of the resources (e.g. Deployment, Service); namespace: Namespace",
        ),
        (
            "resources_get",
            "Get a Kubernetes resource in the current cluster by providing its apiVersion, kind, optionally the namespace, and its name.",
            "apiVersion!: apiVersion of the resource; kind!: kind of the resource; name!: Name of the resource; namespace: Namespace",
        ),
        (
            "resources_create_or_update",
            "Create or update a Kubernetes resource in the current cluster by providing a YAML or JSON representation of the resource.",
            "resource!: A JSON or YAML containing a representation of the Kubernetes resource",
        ),
        (
            "resources_delete",
            "Delete a Kubernetes resource in the current cluster by providing its apiVersion, kind, optionally the namespace, and its name.",
            "apiVersion!: apiVersion of the resource; kind!: kind of the resource; name!: Name of the resource; namespace: Namespace",
        ),
        (
            "resources_scale",
            "Scale a Kubernetes Deployment or StatefulSet to a number of replicas.",
            "kind!: Deployment or StatefulSet; name!: Name of the workload; namespace: Namespace; replicas!#: Desired number of replicas",
        ),
        ("namespaces_list", "List all the Kubernetes namespaces in the current cluster.", ""),
        (
            "events_list",
            "List all the Kubernetes events in the current cluster from all namespaces.",
            "namespace: Optional namespace to retrieve the events from",
        ),
        (
            "helm_install",
            "Install a Helm chart in the current or provided namespace.",
            "chart!: Chart reference to install (e.g. stable/grafana, oci://ghcr.io/nginxinc/charts/nginx-ingress); name: Name of the Helm release; namespace: Namespace; values{}: Values to pass to the chart",
        ),
        (
            "helm_list",
            "List all the Helm releases in the current or provided namespace.",
            "namespace: Namespace; all_namespaces?: List releases across all namespaces",
        ),
        (
            "helm_uninstall",
            "Uninstall a Helm release in the current or provided namespace.",
            "name!: Name of the Helm release; namespace: Namespace",
        ),
        (
            "configuration_view",
            "Get the current Kubernetes configuration content as a kubeconfig YAML.",
            "minified?: Return only the current context",
        ),
    ],
    "docker": [
        (
            "list_containers",
            "List Docker containers.",
            "all?: Show all containers (default shows just running); filters{}: Filters",
        ),
        (
            "run_container",
            "Run a new Docker container from an image.",
            "image!: Image name; name: Container name; ports{}: Port mappings; environment{}: Environment variables; volumes[]: Volume mounts; detach?: Run in background",
        ),
        ("stop_container", "Stop a running Docker container.", "container_id!: Container ID or name"),
        (
            "remove_container",
            "Remove a Docker container.",
            "container_id!: Container ID or name; force?: Force removal of a running container",
        ),
        (
            "fetch_container_logs",
            "Fetch the logs of a Docker container.",
            "container_id!: Container ID or name; tail#: Number of lines from the end",
        ),
        ("list_images", "List Docker images.", ""),
        ("pull_image", "Pull a Docker image from a registry.", "repository!: Image repository; tag: Image tag"),
        (
            "build_image",
            "Build a Docker image from a Dockerfile.",
            "path!: Build context path; tag!: Image tag; dockerfile: Path to the Dockerfile",
        ),
        ("list_volumes", "List Docker volumes.", ""),
        ("list_networks", "List Docker networks.", ""),
    ],
    "aws-s3": [
        ("list_buckets", "List all S3 buckets in the AWS account.", "region: AWS region"),
        (
            "list_objects",
            "List objects in an S3 bucket, optionally under a prefix.",
            "bucket!: Bucket name; prefix: Key prefix to filter by; max_keys#: Maximum number of keys",
        ),
        (
            "get_object",
            "Download an object from an S3 bucket (text content is returned, binary is saved to a file).",
            "bucket!: Bucket name; key!: Object key; save_to: Local path to save binary content",
        ),
        (
            "put_object",
            "Upload content or a local file to an S3 bucket.",
            "bucket!: Bucket name; key!: Object key; content: Text content to upload; file_path: Local file to upload; content_type: MIME type",
        ),
        ("delete_object", "Delete an object from an S3 bucket.", "bucket!: Bucket name; key!: Object key"),
        ("create_bucket", "Create a new S3 bucket.", "bucket!: Bucket name; region: AWS region"),
        (
            "generate_presigned_url",
            "Generate a presigned URL granting temporary access to an S3 object.",
            "bucket!: Bucket name; key!: Object key; expires_in#: Expiry in seconds; method: get_object or put_object",
        ),
        (
            "copy_object",
            "Copy an object within or between S3 buckets.",
            "source_bucket!: Source bucket; source_key!: Source key; dest_bucket!: Destination bucket; dest_key!: Destination key",
        ),
    ],
    "aws": [
        (
            "ec2_describe_instances",
            "Describe EC2 instances, optionally filtered by state, tag or instance IDs.",
            "instance_ids[]: Instance IDs; filters{}: Filters such as instance-state-name or tag:Name; region: AWS region",
        ),
        ("ec2_start_instances", "Start stopped EC2 instances.", "instance_ids![]: Instance IDs; region: AWS region"),
        ("ec2_stop_instances", "Stop running EC2 instances.", "instance_ids![]: Instance IDs; region: AWS region"),
        ("lambda_list_functions", "List AWS Lambda functions.", "region: AWS region"),
        (
            "lambda_invoke",
            "Invoke an AWS Lambda function with a JSON payload.",
            "function_name!: Function name or ARN; payload{}: JSON payload; region: AWS region",
        ),
        (
            "cloudwatch_get_logs",
            "Get log events from a CloudWatch Logs log group.",
            "log_group!: Log group name; filter_pattern: Filter pattern; start_time: Start time; end_time: End time; limit#: Max events",
        ),
        (
            "cloudwatch_get_metric_statistics",
            "Get statistics for a CloudWatch metric (e.g. CPUUtilization) over a period.",
            "namespace!: Metric namespace (e.g. AWS/EC2); metric_name!: Metric name; dimensions{}: Dimensions; start_time!: Start; end_time!: End; period#: Period in seconds",
        ),
        (
            "cost_explorer_get_cost_and_usage",
            "Get AWS cost and usage for a time period, grouped by service or tag.",
            "start_date!: Start date (YYYY-MM-DD); end_date!: End date; granularity: DAILY or MONTHLY; group_by: Dimension to group by (SERVICE, LINKED_ACCOUNT)",
        ),
        ("iam_list_users", "List IAM users in the AWS account.", ""),
        (
            "dynamodb_query",
            "Query items from a DynamoDB table by key condition.",
            "table_name!: Table name; key_condition_expression!: Key condition expression; expression_attribute_values{}: Values",
        ),
    ],
    "stripe": [
        (
            "create_customer",
            "Create a customer in Stripe.",
            "name!: The name of the customer; email: The email of the customer",
        ),
        (
            "list_customers",
            "Fetch a list of customers from Stripe.",
            "limit#: A limit on the number of objects to be returned; email: Filter by email",
        ),
        (
            "create_product",
            "Create a product in Stripe.",
            "name!: The name of the product; description: The description of the product",
        ),
        (
            "list_products",
            "Fetch a list of products from Stripe.",
            "limit#: A limit on the number of objects to be returned",
        ),
        (
            "create_price",
            "Create a price in Stripe for a product.",
            "product!: The ID of the product; unit_amount!#: The unit amount of the price in cents; currency!: The currency of the price; recurring{}: Recurring interval",
        ),
        ("list_prices", "Fetch a list of prices from Stripe.", "product: The ID of the product; limit#: Limit"),
        (
            "create_payment_link",
            "Create a payment link in Stripe that customers can use to pay.",
            "price!: The ID of the price to create the payment link for; quantity!#: The quantity of the product",
        ),
        (
            "create_invoice",
            "Create an invoice in Stripe for a customer.",
            "customer!: The ID of the customer; days_until_due#: Number of days until due",
        ),
        (
            "create_invoice_item",
            "Create an invoice item (line item) in Stripe.",
            "customer!: The ID of the customer; price!: The ID of the price; invoice!: The ID of the invoice",
        ),
        (
            "finalize_invoice",
            "Finalize a draft invoice in Stripe so it can be paid.",
            "invoice!: The ID of the invoice",
        ),
        ("retrieve_balance", "Retrieve the balance from Stripe.", ""),
        (
            "create_refund",
            "Refund a payment intent in Stripe.",
            "payment_intent!: The ID of the PaymentIntent; amount#: Amount to refund in cents",
        ),
        (
            "list_payment_intents",
            "List payment intents (payments) in Stripe.",
            "customer: Filter by customer ID; limit#: Limit",
        ),
        (
            "list_subscriptions",
            "List subscriptions in Stripe.",
            "customer: Filter by customer ID; status: Filter by status; limit#: Limit",
        ),
        ("cancel_subscription", "Cancel a subscription in Stripe.", "subscription!: The ID of the subscription"),
        (
            "create_coupon",
            "Create a coupon (discount) in Stripe.",
            "name!: Coupon name; percent_off#: Percent discount; amount_off#: Amount discount in cents; duration: once, repeating or forever",
        ),
    ],
    "sqlite": [
        ("read_query", "Execute a SELECT query on the SQLite database.", "query!: SELECT SQL query to execute"),
        (
            "write_query",
            "Execute an INSERT, UPDATE, or DELETE query on the SQLite database.",
            "query!: SQL query to execute",
        ),
        ("create_table", "Create a new table in the SQLite database.", "query!: CREATE TABLE SQL statement"),
        ("list_tables", "List all tables in the SQLite database.", ""),
        (
            "describe_table",
            "Get the schema information for a specific table.",
            "table_name!: Name of the table to describe",
        ),
        (
            "append_insight",
            "Add a business insight to the memo.",
            "insight!: Business insight discovered from data analysis",
        ),
    ],
    "mongodb": [
        (
            "find",
            "Run a find query against a MongoDB collection.",
            "database!: Database name; collection!: Collection name; filter{}: The query filter; projection{}: Fields to return; limit#: Max documents; sort{}: Sort order",
        ),
        (
            "aggregate",
            "Run an aggregation pipeline against a MongoDB collection.",
            "database!: Database name; collection!: Collection name; pipeline![]: Array of aggregation stages",
        ),
        (
            "insert_many",
            "Insert an array of documents into a MongoDB collection.",
            "database!: Database name; collection!: Collection name; documents![]: The documents to insert",
        ),
        (
            "update_many",
            "Update all documents in a MongoDB collection matching a filter.",
            "database!: Database name; collection!: Collection name; filter{}: Filter; update!{}: Update operators",
        ),
        (
            "delete_many",
            "Remove all documents matching the filter from a MongoDB collection.",
            "database!: Database name; collection!: Collection name; filter{}: Filter",
        ),
        ("list_collections", "List all collections for a given MongoDB database.", "database!: Database name"),
        (
            "collection_schema",
            "Describe the schema (field names and types) for a MongoDB collection.",
            "database!: Database name; collection!: Collection name",
        ),
        (
            "create_index",
            "Create an index for a MongoDB collection.",
            "database!: Database name; collection!: Collection name; keys!{}: Index keys",
        ),
    ],
    "elasticsearch": [
        ("list_indices", "List all available Elasticsearch indices.", "indexPattern: Index pattern to match"),
        ("get_mappings", "Get field mappings for a specific Elasticsearch index.", "index!: Name of the index"),
        (
            "search",
            "Perform an Elasticsearch search with the provided query DSL.",
            "index!: Name of the index; queryBody!{}: Complete Elasticsearch query DSL object",
        ),
        ("get_shards", "Get shard information for all or specific indices.", "index: Optional index name"),
    ],
    "bigquery": [
        (
            "execute_query",
            "Execute a SQL query in BigQuery and return the results.",
            "query!: SQL query in GoogleSQL; dry_run?: Only estimate the bytes processed",
        ),
        ("list_datasets", "List BigQuery datasets in the project.", "project_id: Google Cloud project ID"),
        ("list_tables", "List tables in a BigQuery dataset.", "dataset_id!: Dataset ID"),
        ("describe_table", "Get the schema of a BigQuery table.", "dataset_id!: Dataset ID; table_id!: Table ID"),
    ],
    "sentry": [
        (
            "list_issues",
            "List Sentry issues (grouped errors) for a project, most recent or most frequent first.",
            "organization_slug!: Organization slug; project_slug!: Project slug; query: Sentry search query (e.g. is:unresolved); sort: date, freq or new",
        ),
        (
            "get_issue_details",
            "Retrieve and analyze a Sentry issue: the error, its stack trace and latest event.",
            "issue_id_or_url!: Sentry issue ID or URL",
        ),
        (
            "list_issue_events",
            "List the events (occurrences) of a Sentry issue.",
            "issue_id!: Issue ID; limit#: Max events",
        ),
        (
            "update_issue",
            "Update a Sentry issue: resolve, ignore or assign it.",
            "issue_id!: Issue ID; status: resolved, ignored or unresolved; assignedTo: User to assign",
        ),
        (
            "list_releases",
            "List releases of a Sentry project.",
            "organization_slug!: Organization slug; project_slug: Project slug",
        ),
    ],
    "datadog": [
        (
            "query_metrics",
            "Query Datadog timeseries metrics.",
            "query!: Datadog metrics query (e.g. avg:system.cpu.user{*}); from!#: Start (epoch seconds); to!#: End (epoch seconds)",
        ),
        (
            "search_logs",
            "Search Datadog logs.",
            "query!: Log search query; from!: Start time; to!: End time; limit#: Max logs",
        ),
        (
            "list_monitors",
            "List Datadog monitors and their alert states.",
            "name: Filter by name; tags[]: Filter by tags; group_states[]: alert, warn, no data",
        ),
        ("list_incidents", "List Datadog incidents.", "query: Filter query; page_size#: Page size"),
        ("get_dashboard", "Get a Datadog dashboard definition.", "dashboard_id!: Dashboard ID"),
        (
            "mute_monitor",
            "Mute a Datadog monitor, optionally until a given time.",
            "monitor_id!#: Monitor ID; end#: Unmute time (epoch seconds)",
        ),
    ],
    "pagerduty": [
        (
            "list_incidents",
            "List PagerDuty incidents.",
            "statuses[]: triggered, acknowledged, resolved; service_ids[]: Filter by service; since: Start date; until: End date",
        ),
        ("get_incident", "Get details of a PagerDuty incident.", "incident_id!: Incident ID"),
        ("acknowledge_incident", "Acknowledge a PagerDuty incident.", "incident_id!: Incident ID"),
        ("resolve_incident", "Resolve a PagerDuty incident.", "incident_id!: Incident ID; resolution: Resolution note"),
        (
            "list_oncalls",
            "List who is on call for PagerDuty escalation policies and schedules.",
            "schedule_ids[]: Schedules; escalation_policy_ids[]: Escalation policies; since: Start; until: End",
        ),
        (
            "create_incident",
            "Trigger a new PagerDuty incident on a service.",
            "title!: Incident title; service_id!: Service ID; urgency: high or low; body: Details",
        ),
    ],
    "salesforce": [
        (
            "query_records",
            "Query Salesforce records with SOQL.",
            "query!: SOQL query (e.g. SELECT Id, Name FROM Account WHERE ...)",
        ),
        (
            "create_record",
            "Create a Salesforce record (Account, Contact, Lead, Opportunity, Case...).",
            "objectName!: sObject API name; data!{}: Field values",
        ),
        (
            "update_record",
            "Update a Salesforce record.",
            "objectName!: sObject API name; recordId!: Record ID; data!{}: Field values to update",
        ),
        (
            "describe_object",
            "Describe a Salesforce object's fields and relationships.",
            "objectName!: sObject API name",
        ),
        (
            "search_records",
            "Search across Salesforce objects with SOSL.",
            "searchTerm!: Text to search for; objects[]: Objects to search",
        ),
    ],
    "hubspot": [
        ("list_contacts", "List HubSpot CRM contacts.", "limit#: Max contacts; properties[]: Properties to return"),
        (
            "create_contact",
            "Create a HubSpot CRM contact.",
            "email!: Email; firstname: First name; lastname: Last name; company: Company; phone: Phone",
        ),
        ("search_companies", "Search HubSpot companies by name or domain.", "query!: Search text; limit#: Max results"),
        (
            "create_deal",
            "Create a deal in the HubSpot sales pipeline.",
            "dealname!: Deal name; amount#: Amount; dealstage: Pipeline stage; closedate: Expected close date",
        ),
        (
            "create_note",
            "Log a note on a HubSpot contact, company or deal.",
            "body!: Note text; contactId: Contact; companyId: Company; dealId: Deal",
        ),
    ],
    "zendesk": [
        (
            "search_tickets",
            "Search Zendesk support tickets.",
            "query!: Zendesk search query (e.g. status:open priority:urgent); sort_by: Sort field",
        ),
        ("get_ticket", "Get a Zendesk ticket with its description and status.", "ticket_id!#: Ticket ID"),
        ("get_ticket_comments", "Get the comments (conversation) of a Zendesk ticket.", "ticket_id!#: Ticket ID"),
        (
            "create_ticket_comment",
            "Add a public reply or an internal note to a Zendesk ticket.",
            "ticket_id!#: Ticket ID; body!: Comment text; public?: Public reply (false for internal note)",
        ),
        (
            "update_ticket",
            "Update a Zendesk ticket's status, priority, assignee or tags.",
            "ticket_id!#: Ticket ID; status: new, open, pending, solved; priority: Priority; assignee_id#: Agent ID; tags[]: Tags",
        ),
    ],
    "shopify": [
        (
            "get_products",
            "Get products from the Shopify store, optionally by title.",
            "searchTitle: Filter by title; limit#: Max products",
        ),
        (
            "get_orders",
            "Get orders from the Shopify store with filters.",
            "status: Order status (open, closed, cancelled, any); limit#: Max orders; created_at_min: Created after",
        ),
        ("get_customers", "Get customers from the Shopify store.", "query: Search query; limit#: Max customers"),
        (
            "update_inventory",
            "Set the available inventory level of a product variant at a location.",
            "inventoryItemId!: Inventory item ID; locationId!: Location ID; available!#: Available quantity",
        ),
        (
            "create_discount_code",
            "Create a discount code for the Shopify store.",
            "title!: Discount title; code!: Code customers enter; valueType!: percentage or fixed_amount; value!#: Discount value",
        ),
        (
            "fulfill_order",
            "Mark a Shopify order as fulfilled, with tracking information.",
            "orderId!: Order ID; trackingNumber: Tracking number; trackingCompany: Carrier",
        ),
    ],
    "todoist": [
        (
            "create_task",
            "Create a new task in Todoist with optional due date and priority.",
            "content!: Task content; description: Task description; due_string: Natural language due date (e.g. 'tomorrow at 5pm'); priority#: Priority from 1 (normal) to 4 (urgent); project_id: Project",
        ),
        (
            "get_tasks",
            "Get tasks from Todoist with optional filters.",
            "filter: Todoist filter (e.g. 'today', 'overdue'); project_id: Project; priority#: Priority",
        ),
        (
            "update_task",
            "Update an existing Todoist task, found by searching its name.",
            "task_name!: Name/content of the task to search for; content: New content; due_string: New due date",
        ),
        (
            "complete_task",
            "Mark a Todoist task as complete, found by searching its name.",
            "task_name!: Name/content of the task to complete",
        ),
        (
            "delete_task",
            "Delete a Todoist task, found by searching its name.",
            "task_name!: Name/content of the task to delete",
        ),
    ],
    "asana": [
        ("list_workspaces", "List all available Asana workspaces.", ""),
        (
            "search_tasks",
            "Search Asana tasks in a workspace.",
            "workspace!: Workspace ID; text: Text to search for; assignee: Assignee; completed?: Completion status; due_on_before: Due before date",
        ),
        (
            "create_task",
            "Create a task in an Asana project.",
            "project_id!: Project ID; name!: Task name; notes: Task description; due_on: Due date (YYYY-MM-DD); assignee: Assignee",
        ),
        (
            "update_task",
            "Update an Asana task.",
            "task_id!: Task ID; name: Name; completed?: Mark complete; due_on: Due date; assignee: Assignee",
        ),
        ("get_project_sections", "Get the sections of an Asana project.", "project_id!: Project ID"),
    ],
    "trello": [
        ("get_lists", "Get the lists (columns) of the Trello board.", ""),
        ("get_cards_by_list", "Get the cards in a Trello list.", "listId!: ID of the list"),
        (
            "add_card_to_list",
            "Add a new card to a Trello list.",
            "listId!: ID of the list; name!: Card name; description: Card description; dueDate: Due date",
        ),
        ("move_card", "Move a Trello card to another list.", "cardId!: ID of the card; listId!: ID of the target list"),
        ("archive_card", "Archive a Trello card.", "cardId!: ID of the card"),
    ],
    "airtable": [
        ("list_bases", "List all accessible Airtable bases.", ""),
        (
            "list_records",
            "List records from an Airtable table.",
            "baseId!: Base ID; tableId!: Table ID or name; filterByFormula: Airtable formula filter; maxRecords#: Max records",
        ),
        (
            "create_record",
            "Create a record in an Airtable table.",
            "baseId!: Base ID; tableId!: Table ID or name; fields!{}: Field values",
        ),
        (
            "update_records",
            "Update records in an Airtable table.",
            "baseId!: Base ID; tableId!: Table ID or name; records!{}: Records with IDs and fields",
        ),
        (
            "describe_table",
            "Get the fields and views of an Airtable table.",
            "baseId!: Base ID; tableId!: Table ID or name",
        ),
    ],
    "obsidian": [
        (
            "search_notes",
            "Search for notes in the Obsidian vault by text.",
            "query!: Text to search for; contextLength#: Characters of context around matches",
        ),
        (
            "read_note",
            "Read the content of a note in the Obsidian vault.",
            "path!: Path of the note relative to the vault root",
        ),
        (
            "write_note",
            "Create or overwrite a note in the Obsidian vault.",
            "path!: Path of the note; content!: Markdown content",
        ),
        (
            "append_to_note",
            "Append content to the end of an existing note in the Obsidian vault.",
            "path!: Path of the note; content!: Content to append",
        ),
        (
            "list_notes",
            "List notes and folders in the Obsidian vault or a folder of it.",
            "dirpath: Folder path (defaults to the vault root)",
        ),
    ],
    "dropbox": [
        (
            "list_folder",
            "List the files and folders in a Dropbox folder.",
            "path!: Folder path ('' for root); recursive?: List recursively",
        ),
        (
            "upload_file",
            "Upload a local file to Dropbox.",
            "local_path!: Path of the local file; dropbox_path!: Destination path in Dropbox; overwrite?: Overwrite an existing file",
        ),
        (
            "download_file",
            "Download a file from Dropbox to the local disk.",
            "dropbox_path!: Path in Dropbox; local_path!: Where to save it",
        ),
        (
            "create_shared_link",
            "Create a shared link for a Dropbox file or folder.",
            "path!: Path in Dropbox; expires: Expiry date",
        ),
        ("search", "Search files and folders in Dropbox by name.", "query!: Search text; path: Folder to search in"),
    ],
    "spotify": [
        (
            "search",
            "Search Spotify for tracks, albums, artists or playlists.",
            "query!: Search query; type!: track, album, artist or playlist; limit#: Max results",
        ),
        (
            "start_playback",
            "Start or resume playback of a track, album or playlist on the active device.",
            "spotifyUri: Spotify URI of the item to play; deviceId: Device ID",
        ),
        ("pause_playback", "Pause playback on the active Spotify device.", "deviceId: Device ID"),
        ("add_to_queue", "Add a track to the Spotify playback queue.", "uri!: Spotify URI of the track"),
        (
            "create_playlist",
            "Create a new Spotify playlist.",
            "name!: Playlist name; description: Description; public?: Public playlist",
        ),
        (
            "add_tracks_to_playlist",
            "Add tracks to a Spotify playlist.",
            "playlistId!: Playlist ID; trackUris![]: Track URIs",
        ),
    ],
    "youtube": [
        (
            "get_transcript",
            "Get the transcript (captions) of a YouTube video.",
            "url!: YouTube video URL or ID; lang: Language code (default en)",
        ),
        ("search_videos", "Search YouTube videos.", "query!: Search query; maxResults#: Max results"),
        (
            "get_video_details",
            "Get title, channel, duration, views and description of a YouTube video.",
            "videoId!: Video ID",
        ),
    ],
    "weather": [
        (
            "get_forecast",
            "Get the weather forecast for a location (latitude and longitude).",
            "latitude!#: Latitude of the location; longitude!#: Longitude of the location; days#: Number of days",
        ),
        ("get_alerts", "Get active weather alerts for a US state.", "state!: Two-letter US state code (e.g. CA, NY)"),
        (
            "get_current_weather",
            "Get current weather conditions (temperature, wind, humidity) for a city.",
            "city!: City name; units: metric or imperial",
        ),
    ],
    "deepl": [
        (
            "translate_text",
            "Translate text into a target language.",
            "text!: Text to translate; target_lang!: Target language code (e.g. DE, FR, JA); source_lang: Source language (auto-detected if omitted); formality: more or less",
        ),
        ("get_source_languages", "Get the list of languages that can be translated from.", ""),
        (
            "rephrase_text",
            "Rephrase or improve the style of a text in the same language.",
            "text!: Text to rephrase; style: business, academic, casual",
        ),
    ],
    "python-sandbox": [
        (
            "run_python_code",
            "Run Python code in a sandbox and return stdout, stderr and the value of the last expression.",
            "python_code!: The Python code to run",
        ),
        ("install_packages", "Install Python packages into the sandbox.", "packages![]: Package names"),
    ],
    "cloudflare": [
        ("list_workers", "List Cloudflare Workers scripts in the account.", ""),
        (
            "deploy_worker",
            "Deploy a Cloudflare Worker script.",
            "name!: Worker name; script!: JavaScript source of the worker",
        ),
        (
            "list_dns_records",
            "List DNS records of a Cloudflare zone.",
            "zone_id!: Zone ID; type: Record type (A, CNAME, TXT...); name: Record name",
        ),
        (
            "create_dns_record",
            "Create a DNS record in a Cloudflare zone.",
            "zone_id!: Zone ID; type!: Record type; name!: Record name; content!: Record content (IP, hostname); proxied?: Proxy through Cloudflare",
        ),
        (
            "purge_cache",
            "Purge cached content for a Cloudflare zone, everything or specific URLs.",
            "zone_id!: Zone ID; files[]: URLs to purge; purge_everything?: Purge everything",
        ),
        (
            "kv_put",
            "Write a value to a Cloudflare Workers KV namespace.",
            "namespace_id!: KV namespace ID; key!: Key; value!: Value",
        ),
    ],
    "vercel": [
        (
            "list_deployments",
            "List Vercel deployments of a project.",
            "projectId: Project ID or name; state: Filter by state (READY, ERROR, BUILDING); limit#: Max results",
        ),
        (
            "get_deployment_build_logs",
            "Get the build logs of a Vercel deployment.",
            "deploymentId!: Deployment ID or URL",
        ),
        (
            "create_deployment",
            "Create a new Vercel deployment from a Git ref.",
            "project!: Project name; ref: Git branch or commit; target: production or preview",
        ),
        ("list_projects", "List Vercel projects.", ""),
        (
            "set_env_variable",
            "Set an environment variable on a Vercel project.",
            "projectId!: Project ID; key!: Variable name; value!: Value; target[]: production, preview, development",
        ),
    ],
    "terraform": [
        (
            "search_modules",
            "Search the Terraform Registry for modules.",
            "query!: Search query; provider: Provider filter",
        ),
        (
            "get_provider_docs",
            "Get Terraform provider resource documentation.",
            "provider!: Provider name (e.g. aws); resource!: Resource type (e.g. aws_s3_bucket)",
        ),
        (
            "plan",
            "Run terraform plan in a working directory and return the planned changes.",
            "working_dir!: Directory containing the Terraform configuration; var_file: Variables file",
        ),
        (
            "apply",
            "Run terraform apply in a working directory.",
            "working_dir!: Directory containing the Terraform configuration; auto_approve?: Skip interactive approval",
        ),
    ],
    "figma": [
        (
            "get_file",
            "Get a Figma file's document tree: pages, frames and layers.",
            "fileKey!: The key of the Figma file; depth#: How deep to traverse",
        ),
        (
            "get_images",
            "Render Figma nodes as PNG or SVG images and return their URLs.",
            "fileKey!: File key; ids![]: Node IDs; format: png, jpg, svg or pdf; scale#: Scale",
        ),
        ("get_comments", "Get the comments on a Figma file.", "fileKey!: File key"),
        (
            "post_comment",
            "Post a comment on a Figma file.",
            "fileKey!: File key; message!: Comment text; node_id: Node to attach the comment to",
        ),
    ],
    "zoom": [
        (
            "create_meeting",
            "Schedule a Zoom meeting.",
            "topic!: Meeting topic; start_time!: Start time (ISO 8601); duration#: Duration in minutes; timezone: Time zone; agenda: Agenda",
        ),
        ("list_meetings", "List the user's scheduled Zoom meetings.", "type: scheduled, live or upcoming"),
        (
            "get_meeting_recordings",
            "Get the cloud recordings (and transcripts) of a Zoom meeting.",
            "meetingId!: Meeting ID",
        ),
        ("delete_meeting", "Delete (cancel) a Zoom meeting.", "meetingId!: Meeting ID"),
    ],
    "exa": [
        (
            "web_search_exa",
            "Search the web using Exa AI and return the content of the best results.",
            "query!: Search query; numResults#: Number of results",
        ),
        ("crawling_exa", "Extract the content of a specific URL.", "url!: URL to crawl"),
        (
            "company_research_exa",
            "Research a company: its website, news and profile.",
            "companyName!: Name of the company",
        ),
    ],
    "arxiv": [
        (
            "search_papers",
            "Search arXiv for scientific papers.",
            "query!: Search query; max_results#: Max results; categories[]: arXiv categories (e.g. cs.AI)",
        ),
        ("download_paper", "Download an arXiv paper and convert it to Markdown.", "paper_id!: arXiv ID"),
        ("read_paper", "Read the content of a downloaded arXiv paper.", "paper_id!: arXiv ID"),
    ],
    "mysql": [
        ("execute_sql", "Execute an SQL statement on the MySQL server.", "query!: SQL statement"),
        ("list_databases", "List the databases on the MySQL server.", ""),
    ],
    "openapi-petstore": [
        (
            "addPet",
            "Add a new pet to the store.",
            "name!: Pet name; category: Category; status: available, pending or sold; photoUrls[]: Photo URLs",
        ),
        ("findPetsByStatus", "Finds pets by status.", "status!: Status values to filter by (available, pending, sold)"),
        ("placeOrder", "Place an order for a pet.", "petId!#: ID of the pet; quantity#: Quantity; shipDate: Ship date"),
    ],
}

# What a server's MCP `instructions` / serverInfo title says, for the servers that say something.
SERVER_DESCRIPTIONS = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "jira": "Atlassian Jira",
    "confluence": "Atlassian Confluence wiki",
    "linear": "Linear issue tracking",
    "notion": "Notion workspace",
    "google-drive": "Google Drive",
    "google-sheets": "Google Sheets",
    "google-calendar": "Google Calendar",
    "gmail": "Gmail",
    "discord": "Discord bot",
    "teams": "Microsoft Teams",
    "twilio": "Twilio SMS and voice",
    "playwright": "Playwright browser automation",
    "kubernetes": "Kubernetes and Helm",
    "docker": "Docker engine",
    "aws-s3": "Amazon S3 object storage",
    "aws": "Amazon Web Services",
    "stripe": "Stripe payments",
    "sqlite": "SQLite database",
    "mongodb": "MongoDB",
    "elasticsearch": "Elasticsearch",
    "bigquery": "Google BigQuery",
    "sentry": "Sentry error monitoring",
    "datadog": "Datadog observability",
    "pagerduty": "PagerDuty on-call",
    "salesforce": "Salesforce CRM",
    "hubspot": "HubSpot CRM",
    "zendesk": "Zendesk support",
    "shopify": "Shopify store",
    "todoist": "Todoist tasks",
    "asana": "Asana projects",
    "trello": "Trello boards",
    "airtable": "Airtable bases",
    "obsidian": "Obsidian vault",
    "dropbox": "Dropbox files",
    "spotify": "Spotify",
    "youtube": "YouTube",
    "weather": "Weather",
    "deepl": "DeepL translation",
    "python-sandbox": "Python code execution sandbox",
    "cloudflare": "Cloudflare",
    "vercel": "Vercel",
    "terraform": "Terraform",
    "figma": "Figma design files",
    "zoom": "Zoom meetings",
    "exa": "Exa web search",
    "arxiv": "arXiv papers",
    "mysql": "MySQL",
    "openapi-petstore": "Petstore API",
}


def schema(parameters: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in filter(None, (part.strip() for part in parameters.split(";"))):
        name, _, description = item.partition(":")
        name = name.strip()
        if name.endswith("!") or "!" in name:
            name = name.replace("!", "")
            required.append(name.rstrip("[]#?{}"))
        prop: dict[str, Any] = {"type": "string"}
        for suffix, kind in (
            ("[]", {"type": "array", "items": {"type": "string"}}),
            ("#", {"type": "number"}),
            ("?", {"type": "boolean"}),
            ("{}", {"type": "object"}),
        ):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                prop = dict(kind)
        prop["description"] = description.strip()
        properties[name] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def tools() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    recorded = json.loads(POPULAR.read_text())["servers"]
    for server, listing in recorded.items():
        out.extend(_recorded(server, tool) for tool in listing["tools"])
    out.extend(_recorded("everything", tool) for tool in json.loads(EVERYTHING.read_text()))
    for server, specs in SERVERS.items():
        for name, description, parameters in specs:
            out.append(
                {
                    "server": server,
                    "name": name,
                    "description": description,
                    "inputSchema": schema(parameters),
                    "serverDescription": SERVER_DESCRIPTIONS.get(server, ""),
                }
            )
    return out


def _recorded(server: str, tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "server": server,
        "name": tool["name"],
        "description": tool.get("description", ""),
        "inputSchema": tool.get("inputSchema", {"type": "object"}),
        **({"title": tool["title"]} if tool.get("title") else {}),
    }


def main() -> None:
    catalogue = tools()
    with OUT.open("w", encoding="utf-8") as f:
        for tool in catalogue:
            f.write(json.dumps(tool, ensure_ascii=False) + "\n")
    print(f"{len(catalogue)} tools over {len({t['server'] for t in catalogue})} servers -> {OUT}")


if __name__ == "__main__":
    main()
