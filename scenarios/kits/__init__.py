"""What steps of several scenarios share, one module per subject:

    onboarding.py          driving the user-onboarding pattern: user.created events, finished executions, states
    media_pipeline.py      uploads to the media pipeline, jobs, duplicates, DLQ counts
    lambda_performance.py  cold starts: generated dependency trees, the cold-start model, timed invokes
    resilience.py          HTTP calls with timeouts, outages, a pattern in a second region
"""
