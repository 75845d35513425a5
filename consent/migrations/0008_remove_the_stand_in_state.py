from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("consent", "0007_stand_in_states_into_the_ledger")]

    operations = [migrations.DeleteModel(name="ConsentState")]
