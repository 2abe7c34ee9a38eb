-- Nothing to undo: before addresses `in_studio` was the therapist's own choice, which is gone.
SELECT 1;
